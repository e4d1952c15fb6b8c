"""One module per kind of fault; each exports ``KINDS`` (see ``faults/fault.py``)."""
