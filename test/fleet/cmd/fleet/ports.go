package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// portRegistry records the ports of every fleet on this machine, one file per fleet dir
// ("<dir>\n<port> <port> ..."). Ports are a machine-wide resource, hence a fixed path and not
// $TMPDIR. A record lives from `fleet up` to `fleet down`.
var portRegistry = "/tmp/fleetscale-ports"

func reservationPath(d string) string {
	sum := sha256.Sum256([]byte(d))
	return filepath.Join(portRegistry, hex.EncodeToString(sum[:8]))
}

// lockPortRegistry serialises allocations of concurrent `fleet up`s; the returned func unlocks.
func lockPortRegistry() (func(), error) {
	if err := os.MkdirAll(portRegistry, 0o755); err != nil {
		return nil, fmt.Errorf("port registry: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(portRegistry, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("port registry: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("port registry: %w", err)
	}
	return func() { f.Close() }, nil
}

// reservedPorts returns the ports recorded for fleet dirs that still exist. Records of fleet dirs
// deleted without `fleet down` are removed. The caller holds the registry lock.
func reservedPorts() map[int]bool {
	reserved := map[int]bool{}
	entries, _ := os.ReadDir(portRegistry)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(portRegistry, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		dir, ports, _ := strings.Cut(string(b), "\n")
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			_ = os.Remove(path)
			continue
		}
		for _, s := range strings.Fields(ports) {
			if p, err := strconv.Atoi(s); err == nil {
				reserved[p] = true
			}
		}
	}
	return reserved
}

// reservePorts records the ports of the fleet in d. The caller holds the registry lock.
func reservePorts(d string, ports []int) error {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	tmp := reservationPath(d) + ".tmp"
	if err := os.WriteFile(tmp, []byte(d+"\n"+strings.Join(s, " ")+"\n"), 0o644); err != nil {
		return fmt.Errorf("port registry: %w", err)
	}
	return os.Rename(tmp, reservationPath(d))
}

// releasePorts deletes the record of the fleet in d (none for a fleet made before the registry).
func releasePorts(d string) error {
	if err := os.Remove(reservationPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// portFree reports whether a component could bind 127.0.0.1:port now. Go sets SO_REUSEADDR, as
// in the components, so connections of an earlier process in TIME_WAIT do not count.
func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// portHolder describes the process listening on a TCP port, for error messages: the socket's
// inode from /proc/net/tcp{,6} (state 0A is LISTEN), then the process that has it open.
func portHolder(port int) string {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l) // sl local_address rem_address st ... inode (10th)
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) > 0 {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			fds, _ := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
			for _, fd := range fds {
				if link, _ := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name())); inodes[link] {
					if p, ok := readProc(pid); ok {
						if len(p.cmdline) > 300 {
							p.cmdline = p.cmdline[:300] + "..."
						}
						return fmt.Sprintf("pid %d (%s)", pid, p.cmdline)
					}
					return fmt.Sprintf("pid %d", pid)
				}
			}
		}
	}
	return "another process"
}
