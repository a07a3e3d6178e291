package main

import "syscall"

// childProcAttr puts a child in its own process group, so that a Ctrl-C in the
// terminal reaches only devstack, which then stops apps before sidecars; and
// has the kernel stop it if devstack itself dies without cleaning up.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
