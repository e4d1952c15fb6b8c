"""What the library needs of one node, whoever runs it: our containers, a compose project's, the user's commands.

:class:`.node.Node` (our containers and, through it, existing containers) and
:class:`..external.commands.CommandNode` implement it; a new driver implements
it too and every fault keyword works with it. The node keeps what the library
last did to it (``expected``) and whether a network cut is in place (``cut``);
only the node's own methods and the cluster change them, never a keyword.
"""

from typing import Protocol

from .environment import NodeSpec
from .node import ContainerState, NodeState, StopMode


class ClusterNode(Protocol):
    spec: NodeSpec
    image: str
    when_gone: str  # what the user should do when the node is gone behind the library's back
    expected: NodeState
    cut: bool

    @property
    def node_id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def address(self) -> str:
        """The advertised client address of a broker ("" for a controller)."""

    def stop(self, mode: StopMode, stop_timeout: float) -> int:
        """Bring the node down in ``mode``; return its exit code."""

    def start(self) -> None: ...

    def pause(self) -> None: ...

    def unpause(self) -> None: ...

    def state(self) -> ContainerState:
        """What the node looks like now (Docker's view, or what the library did last where none can be asked)."""

    def logs(self, tail: "int | None" = None, since: "float | None" = None) -> str: ...

    def remove(self) -> "str | None":
        """Let go of the node (remove it if it is ours); why not, if that failed."""
