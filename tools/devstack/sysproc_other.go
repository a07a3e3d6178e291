//go:build !linux

package main

import "syscall"

// childProcAttr puts a child in its own process group, so that a Ctrl-C in the
// terminal reaches only devstack, which then stops apps before sidecars.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
