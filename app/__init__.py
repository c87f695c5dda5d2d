"""Front ends of ECHO-CXR: the `echo-cxr` command line and, later, the workstation."""
