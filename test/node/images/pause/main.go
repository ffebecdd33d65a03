// pause: the pod sandbox's process (containerd's sandbox_image). The upstream
// registry.k8s.io/pause image is unreachable here; this does what it does: wait for a signal.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
