package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestAllocatePortsSkipsOtherFleets(t *testing.T) {
	portRegistry = t.TempDir()
	// Another fleet holds every even port of the range (as if its clusters were stopped: the
	// ports are free as far as the kernel knows).
	var even []int
	for p := 20000; p < 32768; p += 2 {
		even = append(even, p)
	}
	if err := reservePorts(t.TempDir(), even); err != nil {
		t.Fatal(err)
	}
	d := t.TempDir()
	ports, err := allocatePorts(d, 3*portsPerCluster)
	if err != nil {
		t.Fatal(err)
	}
	reserved := reservedPorts()
	for _, p := range ports {
		if p%2 == 0 {
			t.Errorf("port %d belongs to the other fleet", p)
		}
		if !reserved[p] {
			t.Errorf("port %d is not recorded for %s", p, d)
		}
	}
	if err := releasePorts(d); err != nil {
		t.Fatal(err)
	}
	if reserved := reservedPorts(); reserved[ports[0]] || !reserved[even[0]] {
		t.Errorf("after release: port %d reserved %v, other fleet's port %d reserved %v", ports[0], reserved[ports[0]], even[0], reserved[even[0]])
	}
}

func TestReservationOfDeletedFleetIsDropped(t *testing.T) {
	portRegistry = t.TempDir()
	if err := reservePorts(filepath.Join(t.TempDir(), "deleted"), []int{20001}); err != nil {
		t.Fatal(err)
	}
	if reservedPorts()[20001] {
		t.Error("port of a deleted fleet dir is still reserved")
	}
	if entries, _ := os.ReadDir(portRegistry); len(entries) != 0 {
		t.Errorf("record of a deleted fleet dir kept: %v", entries)
	}
}

func TestExited(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if exited(pid) {
		t.Fatal("running process reported as exited")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: a zombie with no thread left has exited.
	if !waitGone(pid, 5*time.Second) {
		t.Error("killed process (zombie) not reported as exited")
	}
	_ = cmd.Wait()
	if !exited(pid) {
		t.Error("reaped process not reported as exited")
	}
}
