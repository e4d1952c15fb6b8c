"""Clusters the library did not start: existing containers (a compose project) or any platform
reached through commands the user gives (kubectl, ssh, ...). Nothing here deletes or reconfigures them."""
