package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKwokctlConfigBindsLoopbackWithoutRealNode(t *testing.T) {
	d := t.TempDir()
	f := &Fleet{Dir: d, BinDir: t.TempDir()}
	c := newCluster(d, "hub", []int{1, 2, 3, 4, 5, 6})
	cfg := c.kwokctlConfig(f)
	for _, want := range []string{
		"key: advertise-address\n    value: 127.0.0.1\n",
		"key: endpoint-reconciler-type\n    value: none\n",
		"key: manage-all-nodes\n    value: \"false\"\n", // kwok leaves non-kwok nodes alone in every fleet
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	for _, unwanted := range []string{"bind-address", "kubeApiserverCertSANs"} {
		if strings.Contains(cfg, unwanted) {
			t.Errorf("config of a fleet without a real node has %q:\n%s", unwanted, cfg)
		}
	}
}

func TestKwokctlConfigWithRealNode(t *testing.T) {
	d := t.TempDir()
	f := &Fleet{Dir: d, BinDir: t.TempDir()}
	f.Clusters = []Cluster{newCluster(d, "hub", []int{1, 2, 3, 4, 5, 6}), newCluster(d, "member-1", []int{7, 8, 9, 10, 11, 12})}
	f.RealNode = newRealNode(d, "hub", "/k", "/r", "/i", "192.0.2.2", []int{13, 14, 15, 16})
	hub := f.Clusters[0].kwokctlConfig(f)
	member := f.Clusters[1].kwokctlConfig(f)
	for name, cfg := range map[string]string{"hub": hub, "member-1": member} {
		for _, want := range []string{"key: bind-address\n    value: 0.0.0.0\n", `kubeApiserverCertSANs: ["192.0.2.2", "10.0.0.1"]`} {
			if !strings.Contains(cfg, want) {
				t.Errorf("%s config lacks %q:\n%s", name, want, cfg)
			}
		}
	}
	if !strings.Contains(hub, "key: advertise-address\n    value: \"192.0.2.2\"\n  - key: endpoint-reconciler-type\n    value: lease\n") {
		t.Errorf("hub does not advertise the host IP with the lease reconciler:\n%s", hub)
	}
	if !strings.Contains(member, "key: advertise-address\n    value: 127.0.0.1\n  - key: endpoint-reconciler-type\n    value: none\n") {
		t.Errorf("member-1 should keep advertising 127.0.0.1 without endpoints:\n%s", member)
	}
	if strings.Count(hub, "bind-address") != 1 {
		t.Errorf("bind-address given %d times", strings.Count(hub, "bind-address"))
	}
}

func TestOneRealNodePerMachine(t *testing.T) {
	portRegistry = t.TempDir()
	realNodeRecord = filepath.Join(t.TempDir(), "real-node")
	// Whatever runs on this machine (another test's real node), the claim sees no kubelet but its own.
	running := kubeletsRunning
	kubeletsRunning = func() []proc { return nil }
	t.Cleanup(func() { kubeletsRunning = running })
	a, b := t.TempDir(), t.TempDir()
	if err := claimRealNode(a); err != nil {
		t.Fatal(err)
	}
	fa := &Fleet{Dir: a, RealNode: newRealNode(a, "hub", "/k", "/r", "/i", "192.0.2.2", []int{1, 2, 3, 4})}
	if err := fa.write(); err != nil {
		t.Fatal(err)
	}
	if err := claimRealNode(b); err == nil || !strings.Contains(err.Error(), "another fleet's real node") {
		t.Fatalf("second real node: err = %v", err)
	}
	if err := claimRealNode(a); err != nil { // the same fleet again (up over leftovers)
		t.Fatal(err)
	}
	releaseRealNode(b) // not b's record: kept
	if _, err := os.Stat(realNodeRecord); err != nil {
		t.Fatal("record of a removed by b's release")
	}
	if err := os.Remove(fa.path()); err != nil { // a is gone (down, or its dir deleted)
		t.Fatal(err)
	}
	if err := claimRealNode(b); err != nil {
		t.Fatal(err)
	}
	releaseRealNode(b)
	if _, err := os.Stat(realNodeRecord); !os.IsNotExist(err) {
		t.Errorf("record kept after release: %v", err)
	}
}

func TestPodSubnetAvoidsTheHostsNetworks(t *testing.T) {
	if got := podSubnet(0, 7, nil); got != "10.200.7.0/24" {
		t.Errorf("no network taken: %s", got)
	}
	_, wide, _ := net.ParseCIDR("10.200.0.0/23") // covers 10.200.0.0/24 and 10.200.1.0/24
	_, narrow, _ := net.ParseCIDR("10.200.2.128/25")
	if got := podSubnet(0, 0, []*net.IPNet{wide, narrow}); got != "10.200.3.0/24" {
		t.Errorf("next to the host's networks: %s", got)
	}
	if got := podSubnet(49, 255, nil); got != "10.249.255.0/24" {
		t.Errorf("last of the range: %s", got)
	}
	_, last, _ := net.ParseCIDR("10.249.255.0/24")
	if got := podSubnet(49, 255, []*net.IPNet{last}); got != "10.200.0.0/24" {
		t.Errorf("wraps around: %s", got)
	}
}
