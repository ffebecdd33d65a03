// Command fleet starts and manages a fleet of local Kubernetes clusters for fleetscale's tests.
//
// Each cluster is created by kwokctl (runtime "binary") from binaries built by ../../build.sh:
// etcd 3.6, kube-apiserver (RBAC, admission, TokenRequest), kube-controller-manager,
// kube-scheduler and the kwok controller with one fake node, so Deployments become Ready.
//
//	fleet up    --dir <fleetdir> [--clusters hub,member-1,member-2] [--nodes 1] [--real-node ...]
//	fleet stop  --dir <fleetdir> <cluster|real-node>
//	fleet start --dir <fleetdir> <cluster|real-node>
//	fleet status --dir <fleetdir>
//	fleet import-image --dir <fleetdir> <archive>
//	fleet down  --dir <fleetdir>
//
// --real-node adds a real node to the hub (node.go): containerd, a kubelet and kube-proxy, from
// the toolchain outputs of test/node (--node-kubelet-dir, --node-runtime-dir, --node-images-dir),
// and makes every API server of the fleet reachable from its pods (Cluster.PodServer).
//
// The binaries are looked up in --bin-dir, then $FLEET_BIN_DIR, then next to this executable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const usage = `usage:
  fleet up     --dir <fleetdir> [--clusters hub,member-1,member-2] [--nodes N] [--bin-dir DIR] [--timeout 5m]
               [--real-node --node-kubelet-dir DIR --node-runtime-dir DIR --node-images-dir DIR]
  fleet stop   --dir <fleetdir> <cluster|real-node>
  fleet start  --dir <fleetdir> <cluster|real-node> [--timeout 3m]
  fleet status --dir <fleetdir>
  fleet import-image --dir <fleetdir> <image archive>   (into the real node's containerd, k8s.io namespace)
  fleet down   --dir <fleetdir>
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = cmdUp(os.Args[2:])
	case "stop":
		err = cmdStop(os.Args[2:])
	case "start":
		err = cmdStart(os.Args[2:])
	case "status":
		err = cmdStatus(os.Args[2:])
	case "down":
		err = cmdDown(os.Args[2:])
	case "import-image":
		err = cmdImportImage(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// parse parses flags that may be interleaved with positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func absDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("--dir is required")
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	d = filepath.Clean(d)
	if d == "/" {
		return "", errors.New("refusing to use / as fleet dir")
	}
	return d, nil
}

func cmdUp(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", "", "fleet directory (state, kubeconfigs, fleet.json)")
	clusters := fs.String("clusters", "hub,member-1,member-2", "comma-separated cluster names")
	nodes := fs.Int("nodes", 1, "fake (kwok) nodes per cluster")
	binDirFlag := fs.String("bin-dir", "", "directory with the binaries built by build.sh")
	timeout := fs.Duration("timeout", 5*time.Minute, "overall timeout")
	realNode := fs.Bool("real-node", false, "add a real node (containerd, kubelet, kube-proxy) to the hub; needs root")
	nodeKubelet := fs.String("node-kubelet-dir", "", "kubelet and kube-proxy (test/node/build-kubelet.sh)")
	nodeRuntime := fs.String("node-runtime-dir", "", "containerd, runc, CNI, iptables (test/node/fetch-runtime.sh)")
	nodeImages := fs.String("node-images-dir", "", "image archives imported at up, pause first (test/node/build-images.sh)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	d, err := absDir(*dir)
	if err != nil {
		return err
	}
	names, err := clusterNames(*clusters)
	if err != nil {
		return err
	}
	bin, err := binDir(*binDirFlag)
	if err != nil {
		return err
	}
	var ip string
	if *realNode {
		if !slices.Contains(names, "hub") {
			return errors.New("--real-node: the real node joins the cluster named hub, which --clusters lacks")
		}
		for flagName, v := range map[string]string{"node-kubelet-dir": *nodeKubelet, "node-runtime-dir": *nodeRuntime, "node-images-dir": *nodeImages} {
			if v == "" {
				return fmt.Errorf("--real-node needs --%s", flagName)
			}
		}
		if os.Geteuid() != 0 {
			return errors.New("--real-node needs root (containerd, kubelet, iptables)")
		}
		if ip, err = hostIP(); err != nil {
			return err
		}
	}
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	// Leftovers of an earlier fleet in the same directory (e.g. a killed test): clean them.
	if entries, err := os.ReadDir(d); err == nil && len(entries) > 0 {
		logf("cleaning leftovers in %s", d)
		if err := teardown(d); err != nil {
			return fmt.Errorf("cleaning leftovers: %w", err)
		}
	}
	if *realNode {
		if err := claimRealNode(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(d, "logs"), 0o755); err != nil {
		return err
	}

	nPorts := len(names) * portsPerCluster
	if *realNode {
		nPorts += portsPerNode
	}
	ports, err := allocatePorts(d, nPorts)
	if err != nil {
		return err
	}
	f := &Fleet{
		APIVersion:        fleetAPIVersion,
		Kind:              "Fleet",
		Dir:               d,
		BinDir:            bin,
		KubernetesVersion: readVersion(bin, "kubernetes"),
	}
	for i, name := range names {
		f.Clusters = append(f.Clusters, newCluster(d, name, ports[i*portsPerCluster:(i+1)*portsPerCluster]))
	}
	if *realNode {
		abs := func(p string) string { a, _ := filepath.Abs(p); return a }
		f.RealNode = newRealNode(d, "hub", abs(*nodeKubelet), abs(*nodeRuntime), abs(*nodeImages), ip, ports[len(names)*portsPerCluster:])
		for i := range f.Clusters {
			f.Clusters[i].PodServer = "https://" + net.JoinHostPort(ip, strconv.Itoa(f.Clusters[i].Ports.KubeApiserver))
		}
	}
	// fleet.json is written early (status "starting") so that `fleet down` finds everything
	// even if `up` is interrupted.
	if err := f.write(); err != nil {
		return err
	}

	var wg sync.WaitGroup
	errs := make([]error, len(f.Clusters))
	for i := range f.Clusters {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := &f.Clusters[i]
			t := time.Now()
			errs[i] = c.create(ctx, f, *nodes)
			if errs[i] == nil {
				logf("%s ready at %s in %s", c.Name, c.Server, time.Since(t).Round(100*time.Millisecond))
			}
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w (logs in %s)", err, filepath.Join(d, "logs"))
	}
	if n := f.RealNode; n != nil {
		t := time.Now()
		if err := n.writeConfig(f.cluster(n.Cluster)); err != nil {
			return fmt.Errorf("real node: %w", err)
		}
		if err := n.start(ctx, f, true); err != nil {
			return fmt.Errorf("%w (logs in %s)", err, filepath.Join(d, "logs"))
		}
		logf("real node %s Ready in %s in %s (node IP %s, pods reach the API servers at %s)", n.Name, n.Cluster, time.Since(t).Round(100*time.Millisecond), n.HostIP, n.HostIP)
	}
	f.Ready = true
	if err := f.write(); err != nil {
		return err
	}
	logf("fleet of %d clusters up in %s; %s", len(names), time.Since(started).Round(100*time.Millisecond), f.path())
	fmt.Println(f.path())
	return nil
}

func cmdStop(args []string) error {
	f, c, _, err := loadOne("stop", args)
	if err != nil {
		return err
	}
	if c == nil { // the real node
		if err := f.RealNode.stop(); err != nil {
			return err
		}
		logf("real node %s stopped (its containers keep running)", f.RealNode.Name)
		return nil
	}
	if err := c.stop(); err != nil {
		return err
	}
	logf("%s stopped (%s)", c.Name, c.Server)
	_ = f
	return nil
}

func cmdStart(args []string) error {
	f, c, timeout, err := loadOne("start", args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	t := time.Now()
	if c == nil { // the real node
		if err := f.RealNode.start(ctx, f, false); err != nil {
			return err
		}
		logf("real node %s started, Ready in %s", f.RealNode.Name, time.Since(t).Round(100*time.Millisecond))
		return nil
	}
	if err := c.start(ctx, f); err != nil {
		return err
	}
	logf("%s started at %s in %s", c.Name, c.Server, time.Since(t).Round(100*time.Millisecond))
	return nil
}

func loadOne(cmd string, args []string) (*Fleet, *Cluster, time.Duration, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	dir := fs.String("dir", "", "fleet directory")
	timeout := fs.Duration("timeout", 3*time.Minute, "timeout")
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(pos) != 1 {
		return nil, nil, 0, fmt.Errorf("expected exactly one cluster name, got %q", pos)
	}
	f, _, err := openFleet(*dir)
	if err != nil {
		return nil, nil, 0, err
	}
	for i := range f.Clusters {
		if f.Clusters[i].Name == pos[0] {
			return f, &f.Clusters[i], *timeout, nil
		}
	}
	if f.RealNode != nil && f.RealNode.Name == pos[0] {
		return f, nil, *timeout, nil // the real node (Cluster nil)
	}
	return nil, nil, 0, fmt.Errorf("no cluster %q in %s", pos[0], f.path())
}

func cmdStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	dir := fs.String("dir", "", "fleet directory")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	f, _, err := openFleet(*dir)
	if err != nil {
		return err
	}
	fmt.Printf("%-12s %-28s %-8s %6s %9s\n", "CLUSTER", "SERVER", "HEALTHY", "PROCS", "RSS(MiB)")
	var total int64
	for i := range f.Clusters {
		c := &f.Clusters[i]
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		healthy := c.healthy(ctx) == nil
		cancel()
		procs := findProcs(c.workdir() + "/")
		var rss int64
		for _, p := range procs {
			rss += p.rssKiB
		}
		total += rss
		fmt.Printf("%-12s %-28s %-8v %6d %9.1f\n", c.Name, c.Server, healthy, len(procs), float64(rss)/1024)
		for _, p := range procs {
			fmt.Printf("    %-26s pid %-7d %7.1f MiB\n", p.name, p.pid, float64(p.rssKiB)/1024)
		}
	}
	if f.RealNode != nil {
		total += f.RealNode.status(f)
	}
	fmt.Printf("total RSS %.1f MiB\n", float64(total)/1024)
	return nil
}

func cmdDown(args []string) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	dir := fs.String("dir", "", "fleet directory")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	d, err := absDir(*dir)
	if err != nil {
		return err
	}
	if err := teardown(d); err != nil {
		return err
	}
	if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	logf("fleet in %s removed", d)
	return nil
}

// teardown kills every process of the fleet in d, deletes its state (d itself stays) and
// releases its ports.
func teardown(d string) error {
	var nodeErrs []error
	if f, err := loadFleet(d); err == nil {
		// The real node first: its pods are deleted through the hub's API while its kubelet runs.
		if f.RealNode != nil {
			nodeErrs = f.RealNode.teardown(f)
			if len(nodeErrs) == 0 {
				releaseRealNode(d)
			}
		}
		var wg sync.WaitGroup
		for i := range f.Clusters {
			wg.Add(1)
			go func(c *Cluster) {
				defer wg.Done()
				_ = c.stop()
			}(&f.Clusters[i])
		}
		wg.Wait()
	}
	// Anything else started from this fleet dir: lost pid files, or an interrupted `up` whose
	// kwokctl processes may still be starting components (so kill kwokctl first, and repeat).
	prefix := filepath.Join(d, "kwok") + "/"
	for round := 0; ; round++ {
		procs := findProcs(prefix)
		if len(procs) == 0 {
			break
		}
		if round == 5 {
			return fmt.Errorf("processes still running: %v", procs)
		}
		var kwokctl, rest []proc
		for _, p := range procs {
			if p.name == "kwokctl" {
				kwokctl = append(kwokctl, p)
			} else {
				rest = append(rest, p)
			}
		}
		killAll(kwokctl)
		killAll(rest)
	}
	entries, err := os.ReadDir(d)
	if errors.Is(err, os.ErrNotExist) {
		return releasePorts(d)
	} else if err != nil {
		return err
	}
	if len(nodeErrs) > 0 {
		// Keep fleet.json (it names what is left) so that another `fleet down` can retry.
		return fmt.Errorf("real node teardown: %w", errors.Join(nodeErrs...))
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
			return err
		}
	}
	return releasePorts(d)
}

func cmdImportImage(args []string) error {
	fs := flag.NewFlagSet("import-image", flag.ContinueOnError)
	dir := fs.String("dir", "", "fleet directory")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("expected one image archive (podman save --format oci-archive), got %q", pos)
	}
	f, d, err := openFleet(*dir)
	if err != nil {
		return err
	}
	if f.RealNode == nil {
		return fmt.Errorf("the fleet in %s has no real node (fleet up --real-node)", d)
	}
	archive, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	t := time.Now()
	if err := f.RealNode.importImage(archive); err != nil {
		return err
	}
	logf("imported %s into %s in %s", archive, f.RealNode.Name, time.Since(t).Round(100*time.Millisecond))
	return nil
}

func clusterNames(s string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !validName(n) {
			return nil, fmt.Errorf("invalid cluster name %q (lowercase letters, digits, '-')", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("duplicate cluster name %q", n)
		}
		seen[n] = true
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("no clusters given")
	}
	return names, nil
}

func validName(n string) bool {
	if len(n) > 40 || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwokctl", "kubectl"}

func binDir(flagValue string) (string, error) {
	candidates := []string{flagValue, os.Getenv("FLEET_BIN_DIR")}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			candidates = append(candidates, filepath.Dir(exe))
		}
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		ok := true
		for _, b := range binaries {
			if st, err := os.Stat(filepath.Join(c, b)); err != nil || st.IsDir() {
				ok = false
				break
			}
		}
		if ok {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("binaries %v not found (looked in --bin-dir, $FLEET_BIN_DIR, next to fleet); run test/fleet/build.sh", binaries)
}

func readVersion(bin, key string) string {
	b, err := os.ReadFile(filepath.Join(bin, "versions.txt"))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "fleet: "+format+"\n", a...)
}

// openFleet loads the fleet in dir (made absolute), returning it with that absolute dir.
func openFleet(dir string) (*Fleet, string, error) {
	d, err := absDir(dir)
	if err != nil {
		return nil, "", err
	}
	f, err := loadFleet(d)
	return f, d, err
}
