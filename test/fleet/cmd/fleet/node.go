package main

// The real node (fleet up --real-node): containerd + a real kubelet + kube-proxy in the hub,
// beside kwok's simulated nodes, so that pods really run. See test/node/NOTES.md for what this
// kernel needs and why each setting is there. Machine-wide state is touched (a bridge, iptables
// rules, /kubepods cgroups), hence one real node per machine (realNodeRecord) and a teardown that
// removes all of it.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RealNode describes the fleet's real node (fleet.json "realNode").
type RealNode struct {
	Name    string `json:"name"`
	Cluster string `json:"cluster"` // the cluster it is registered with (the hub)
	Dir     string `json:"dir"`     // <fleetdir>/node: containerd's root and state, kubelet root, configs, certs
	// HostIP is the node's InternalIP, and the address at which pods reach every API server of
	// the fleet (Cluster.PodServer).
	HostIP string            `json:"hostIP"`
	Labels map[string]string `json:"labels"` // a nodeSelector that picks this node
	// Toolchain outputs (test/node): kubelet + kube-proxy, the unpacked Debian runtime, the images
	// imported at `up` (pause, hello).
	KubeletBinDir string    `json:"kubeletBinDir"`
	RuntimeDir    string    `json:"runtimeDir"`
	ImagesDir     string    `json:"imagesDir"`
	Socket        string    `json:"containerdSocket"`
	Bridge        string    `json:"bridge"`     // the CNI bridge (a name of this node's own)
	PodSubnet     string    `json:"podSubnet"`  // host-local IPAM range
	CNINetwork    string    `json:"cniNetwork"` // the CNI network name (comment of its iptables rules)
	Ports         NodePorts `json:"ports"`
}

// NodePorts are the real node's ports (kept in the port registry like the clusters').
type NodePorts struct {
	Kubelet          int `json:"kubelet"`          // <hostIP>: the kubelet API (logs, exec)
	KubeletHealthz   int `json:"kubeletHealthz"`   // 127.0.0.1
	KubeProxyHealthz int `json:"kubeProxyHealthz"` // 127.0.0.1
	KubeProxyMetrics int `json:"kubeProxyMetrics"` // 127.0.0.1
}

const portsPerNode = 4

// realNodeRecord names the fleet dir of the machine's real node ("<dir>\n"). kube-proxy's
// iptables chains (KUBE-SERVICES, ...) and the kubelet's (KUBE-FIREWALL, ...) are machine-wide,
// so two real nodes would fight over them.
// In /run, which only root may write (as the real node needs anyway): nobody else can plant it
// or a symlink in its place.
var realNodeRecord = "/run/fleetscale-real-node"

// nodeDaemons are the node's long-running processes, in start order.
var nodeDaemons = []string{"containerd", "kubelet", "kube-proxy"}

func newRealNode(d, cluster, kubeletBin, runtime, images, hostIP string, ports []int) *RealNode {
	dir := filepath.Join(d, "node")
	sum := sha256.Sum256([]byte(dir))
	h := hex.EncodeToString(sum[:2])
	name := "real-node"
	return &RealNode{
		Name:          name,
		Cluster:       cluster,
		Dir:           dir,
		HostIP:        hostIP,
		Labels:        map[string]string{"kubernetes.io/hostname": name, "fleetscale.local/real-node": "true"},
		KubeletBinDir: kubeletBin,
		RuntimeDir:    runtime,
		ImagesDir:     images,
		Socket:        filepath.Join(dir, "containerd", "containerd.sock"),
		Bridge:        "fsn" + h,
		PodSubnet:     podSubnet(sum[0], sum[1], hostNetworks("fsn"+h)),
		CNINetwork:    "fleetscale-" + h,
		Ports:         NodePorts{Kubelet: ports[0], KubeletHealthz: ports[1], KubeProxyHealthz: ports[2], KubeProxyMetrics: ports[3]},
	}
}

// podSubnet picks the node's pod /24 in 10.200.0.0-10.249.255.0, starting where the fleet
// dir's hash points and skipping any that overlaps a network the host is on: the node's bridge
// route would otherwise shadow it.
func podSubnet(a, b byte, taken []*net.IPNet) string {
	for i := 0; i < 50*256; i++ {
		n := (int(a)%50*256 + int(b) + i) % (50 * 256)
		_, candidate, _ := net.ParseCIDR(fmt.Sprintf("10.%d.%d.0/24", 200+n/256, n%256))
		free := true
		for _, t := range taken {
			if t.Contains(candidate.IP) || candidate.Contains(t.IP) {
				free = false
				break
			}
		}
		if free {
			return candidate.String()
		}
	}
	return fmt.Sprintf("10.%d.%d.0/24", 200+int(a)%50, b) // every one taken: nothing better to pick
}

// hostNetworks lists the networks of the host's interfaces but `own`, this node's bridge (left
// by an earlier run of the same fleet, its subnet is this node's to take again).
func hostNetworks(own string) []*net.IPNet {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var nets []*net.IPNet
	for _, iface := range ifaces {
		if iface.Name == own {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				nets = append(nets, n)
			}
		}
	}
	return nets
}

// hostIP is the address of the interface that holds the default route: the node's InternalIP,
// and the address pods reach the host's API servers at (a pod's 127.0.0.1 is its own).
func hostIP() (string, error) {
	// A UDP "connection" sends nothing; it only picks the source address of the route.
	if c, err := net.Dial("udp4", "192.0.2.1:9"); err == nil {
		defer c.Close()
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && !a.IP.IsLoopback() {
			return a.IP.String(), nil
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("no global IPv4 address for the real node")
}

func (n *RealNode) pidFile(daemon string) string { return filepath.Join(n.Dir, "pids", daemon+".pid") }
func (n *RealNode) logPath(fleetDir, daemon string) string {
	return filepath.Join(fleetDir, "logs", "real-node."+daemon+".log")
}

// runtimeCmd runs a program of the unpacked runtime (or any program) with its env sourced
// (PATH, LD_LIBRARY_PATH, XTABLES_LIBDIR): containerd, ctr, runc, iptables come from there.
func (n *RealNode) runtimeCmd(name string, args ...string) *exec.Cmd {
	full := append([]string{"-c", `. "$0"; exec "$@"`, filepath.Join(n.RuntimeDir, "env"), name}, args...)
	return exec.Command("bash", full...)
}

// running returns the daemon's process if its pid file names a live process of this node.
func (n *RealNode) running(daemon string) (proc, bool) {
	return runningFrom(n.pidFile(daemon), n.Dir)
}

// writeConfig writes the CNI, containerd, kubelet and kube-proxy configurations and the node's
// credentials (once, at `up`).
func (n *RealNode) writeConfig(c *Cluster) error {
	for _, sub := range []string{"containerd", "kubelet", "cni/net.d", "pids"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, sub), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"cni/net.d/10-fleetscale.conflist": fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": %q,
  "plugins": [
    { "type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": %q }]], "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": %q } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
`, n.CNINetwork, n.Bridge, n.PodSubnet, filepath.Join(n.Dir, "cni", "ipam")),
		"containerd/config.toml": fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
[plugins."io.containerd.grpc.v1.cri"]
  # registry.k8s.io is unreachable: a pause image of our own (test/node/images/pause).
  sandbox_image = "fleetscale.local/pause:1"
  # Without it every sandbox fails: this process may not set a negative oom_score_adj.
  restrict_oom_score_adj = true
  enable_selinux = false
  # Pod network namespaces under the state dir (not /var/run/netns): one place to clean up.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = %[6]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[7]q
    conf_dir = %[8]q
`, filepath.Join(n.Dir, "containerd", "root"), filepath.Join(n.Dir, "containerd", "state"), n.Socket, n.Socket+".ttrpc",
			filepath.Join(n.Dir, "containerd", "opt"), filepath.Join(n.RuntimeDir, "bin", "runc"), filepath.Join(n.RuntimeDir, "cni"),
			filepath.Join(n.Dir, "cni", "net.d")),
		"kubelet/config.yaml": fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This kernel has cgroup v1 (hybrid); kubelet >= 1.35 refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%s
# No CAP_SYS_RESOURCE here: the default -999 cannot be set.
oomScoreAdj: 0
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: %q }
authorization:
  mode: Webhook
clusterDomain: cluster.local
failSwapOn: false
serializeImagePulls: false
# Imported images are never pulled again: keep them.
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%%
  imagefs.available: 2%%
  nodefs.inodesFree: 2%%
`, n.Socket, n.HostIP, n.Ports.Kubelet, n.Ports.KubeletHealthz, c.CAFile),
		// kube-proxy: ClusterIPs such as the "kubernetes" Service's 10.0.0.1, in iptables mode (the
		// unpacked iptables-nft); no sysctl writes (conntrack), no route_localnet.
		"kube-proxy.yaml": fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: %q }
hostnameOverride: %s
clusterCIDR: %s
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
oomScoreAdj: 0
conntrack: { maxPerCore: 0, min: 0 }
iptables: { localhostNodePorts: false }
`, filepath.Join(n.Dir, "kube-proxy.kubeconfig"), n.Name, n.PodSubnet, n.Ports.KubeProxyHealthz, n.Ports.KubeProxyMetrics),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(n.Dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// Credentials as on a real node, signed by the cluster's CA (kwokctl keeps its key): the
	// kubelet as system:node:<name> in system:nodes (Node authorizer, NodeRestriction), kube-proxy
	// as system:kube-proxy (bound to system:node-proxier by the default RBAC policy).
	if err := n.mintKubeconfig(c, "system:node:"+n.Name, "system:nodes", filepath.Join(n.Dir, "kubelet", "kubeconfig")); err != nil {
		return err
	}
	return n.mintKubeconfig(c, "system:kube-proxy", "", filepath.Join(n.Dir, "kube-proxy.kubeconfig"))
}

// mintKubeconfig writes a kubeconfig (and its .crt/.key beside it) for a client certificate of
// user (and group) signed by the cluster's CA.
func (n *RealNode) mintKubeconfig(c *Cluster, user, group, out string) error {
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		return err
	}
	caKeyPEM, err := os.ReadFile(strings.TrimSuffix(c.CAFile, ".crt") + ".key")
	if err != nil {
		return fmt.Errorf("the cluster CA's key (to sign the node's certificates): %w", err)
	}
	b, _ := pem.Decode(caPEM)
	if b == nil {
		return fmt.Errorf("no PEM in %s", c.CAFile)
	}
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return err
	}
	kb, _ := pem.Decode(caKeyPEM)
	if kb == nil {
		return errors.New("no PEM in the CA key")
	}
	var caKey any
	if caKey, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
		if caKey, err = x509.ParsePKCS8PrivateKey(kb.Bytes); err != nil {
			if caKey, err = x509.ParseECPrivateKey(kb.Bytes); err != nil {
				return fmt.Errorf("cannot parse the CA key: %w", err)
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	subject := pkix.Name{CommonName: user}
	if group != "" {
		subject.Organization = []string{group}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(out+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: %q, certificate-authority: %q } }]
users: [{ name: u, user: { client-certificate: %q, client-key: %q } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`, c.Server, c.CAFile, out+".crt", out+".key")
	return os.WriteFile(out, []byte(kc), 0o600)
}

// startDaemon starts one daemon in its own session (it outlives the launcher), logging to the
// fleet's logs dir, and records its pid.
func (n *RealNode) startDaemon(fleetDir, daemon string) error {
	if _, ok := n.running(daemon); ok {
		return nil
	}
	var cmd *exec.Cmd
	switch daemon {
	case "containerd":
		cmd = n.runtimeCmd("containerd", "--config", filepath.Join(n.Dir, "containerd", "config.toml"))
	case "kubelet":
		cmd = n.runtimeCmd(filepath.Join(n.KubeletBinDir, "kubelet"),
			"--config", filepath.Join(n.Dir, "kubelet", "config.yaml"),
			"--kubeconfig", filepath.Join(n.Dir, "kubelet", "kubeconfig"),
			"--hostname-override", n.Name, "--node-ip", n.HostIP,
			"--root-dir", filepath.Join(n.Dir, "kubelet", "root"),
			"--node-labels", "fleetscale.local/real-node=true", "--v", "2")
	case "kube-proxy":
		cmd = n.runtimeCmd(filepath.Join(n.KubeletBinDir, "kube-proxy"), "--config", filepath.Join(n.Dir, "kube-proxy.yaml"), "--v", "2")
	default:
		return fmt.Errorf("unknown daemon %s", daemon)
	}
	logFile, err := os.OpenFile(n.logPath(fleetDir, daemon), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", daemon, err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return os.WriteFile(n.pidFile(daemon), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// checkRunning fails with the end of the daemon's log if it is not running.
func (n *RealNode) checkRunning(fleetDir, daemon string) error {
	if _, ok := n.running(daemon); ok {
		return nil
	}
	// A process in the middle of execve (bash exec'ing the daemon) shows an empty command line.
	time.Sleep(200 * time.Millisecond)
	if _, ok := n.running(daemon); ok {
		return nil
	}
	b, _ := os.ReadFile(n.logPath(fleetDir, daemon))
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if len(l) > 0 && (l[0] == 'E' || l[0] == 'F' || strings.Contains(l, "level=error") || strings.Contains(l, "level=fatal")) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return fmt.Errorf("real node: %s is not running; end of %s:\n%s", daemon, n.logPath(fleetDir, daemon), strings.Join(lines, "\n"))
}

func (n *RealNode) ctr(args ...string) ([]byte, error) {
	cmd := n.runtimeCmd("ctr", append([]string{"-a", n.Socket, "-n", "k8s.io"}, args...)...)
	return cmd.CombinedOutput()
}

// importImage imports an image archive (OCI or docker format) into containerd's k8s.io
// namespace, where the kubelet finds it under the archive's reference name.
func (n *RealNode) importImage(archive string) error {
	if _, ok := n.running("containerd"); !ok {
		return errors.New("real node: containerd is not running")
	}
	if out, err := n.ctr("images", "import", "--no-unpack=false", archive); err != nil {
		return fmt.Errorf("ctr images import %s: %w\n%s", archive, err, bytes.TrimSpace(out))
	}
	return nil
}

// start starts containerd, the kubelet and kube-proxy (those not running) and waits until the
// node is Ready; with images, imports every *.oci.tar of ImagesDir first.
func (n *RealNode) start(ctx context.Context, f *Fleet, images bool) error {
	c := f.cluster(n.Cluster)
	if c == nil {
		return fmt.Errorf("real node: no cluster %q", n.Cluster)
	}
	if err := os.MkdirAll(filepath.Join(n.Dir, "pids"), 0o755); err != nil {
		return err
	}
	started := time.Now().Truncate(time.Second) // heartbeats have second precision
	if err := n.startDaemon(f.Dir, "containerd"); err != nil {
		return err
	}
	err := poll(ctx, "real node: containerd", func() error {
		if err := n.checkRunning(f.Dir, "containerd"); err != nil {
			return &permanent{err}
		}
		_, err := n.ctr("version")
		return err
	})
	if err != nil {
		return err
	}
	if images {
		archives, _ := filepath.Glob(filepath.Join(n.ImagesDir, "*.oci.tar"))
		if len(archives) == 0 {
			return fmt.Errorf("real node: no image archives in %s (test/node/build-images.sh)", n.ImagesDir)
		}
		for _, a := range archives {
			if err := n.importImage(a); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{"kubelet", "kube-proxy"} {
		if err := n.startDaemon(f.Dir, d); err != nil {
			return err
		}
	}
	return n.waitReady(ctx, f, c, started)
}

// permanent marks an error that poll should not retry.
type permanent struct{ error }

// waitReady waits for the daemons to run, the kubelet's and kube-proxy's /healthz and the Node's
// Ready condition.
//
// The Ready condition must have been reported by this kubelet (heartbeat at or after since): after
// a restart the Node still shows the old kubelet's Ready for a while.
func (n *RealNode) waitReady(ctx context.Context, f *Fleet, c *Cluster, since time.Time) error {
	hc, err := c.client()
	if err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	healthz := func(port int) error {
		resp, err := plain.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		return nil
	}
	return poll(ctx, "real node "+n.Name+" Ready", func() error {
		for _, d := range nodeDaemons {
			if err := n.checkRunning(f.Dir, d); err != nil {
				return &permanent{err}
			}
		}
		if err := healthz(n.Ports.KubeletHealthz); err != nil {
			return fmt.Errorf("kubelet %w", err)
		}
		if err := healthz(n.Ports.KubeProxyHealthz); err != nil {
			return fmt.Errorf("kube-proxy %w", err)
		}
		if err := n.ready(ctx, c, hc, since); err != nil {
			return err
		}
		return n.podsKnown(ctx, c, hc)
	})
}

// podsKnown checks that the kubelet knows every running pod the API server binds to the node
// (after a restart it reports Ready before it has synced them; `kubectl exec` would then answer
// "pod does not exist"). It asks the kubelet's /pods with the cluster's admin certificate.
func (n *RealNode) podsKnown(ctx context.Context, c *Cluster, hc *http.Client) error {
	type podList struct {
		Items []struct {
			Metadata struct{ Namespace, Name string }
			Status   struct{ Phase string }
		}
	}
	var bound podList
	if _, err := c.get(ctx, hc, "/api/v1/pods?fieldSelector=spec.nodeName%3D"+n.Name, &bound); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range bound.Items {
		if p.Status.Phase == "Running" {
			want[p.Metadata.Namespace+"/"+p.Metadata.Name] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return err
	}
	kc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		// The kubelet serves a self-signed certificate (no serving certificate from the cluster CA).
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}},
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+net.JoinHostPort(n.HostIP, strconv.Itoa(n.Ports.Kubelet))+"/pods", nil)
	if err != nil {
		return err
	}
	resp, err := kc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var known podList
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kubelet /pods: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&known); err != nil {
		return err
	}
	for _, p := range known.Items {
		delete(want, p.Metadata.Namespace+"/"+p.Metadata.Name)
	}
	if len(want) > 0 {
		return fmt.Errorf("the kubelet has not synced %d running pods yet", len(want))
	}
	return nil
}

// ready reports whether the Node object is Ready, as last reported at or after since.
func (n *RealNode) ready(ctx context.Context, c *Cluster, hc *http.Client, since time.Time) error {
	var node struct {
		Status struct {
			Conditions []struct {
				Type, Status, Message string
				LastHeartbeatTime     time.Time
			}
		}
	}
	if _, err := c.get(ctx, hc, "/api/v1/nodes/"+n.Name, &node); err != nil {
		return err
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == "Ready" {
			if cond.LastHeartbeatTime.Before(since) {
				return fmt.Errorf("node %s: no status from its kubelet since %s yet", n.Name, since.Format(time.RFC3339))
			}
			if cond.Status == "True" {
				return nil
			}
			return fmt.Errorf("node %s: Ready=%s: %s", n.Name, cond.Status, cond.Message)
		}
	}
	return fmt.Errorf("node %s has no Ready condition yet", n.Name)
}

// stop stops kube-proxy, the kubelet and containerd (TERM, KILL after 15 s). Containers and
// their shims keep running (as when a real node's daemons restart); `start` picks them up.
func (n *RealNode) stop() error {
	var left []proc
	for _, d := range []string{"kube-proxy", "kubelet", "containerd"} {
		if p, ok := n.running(d); ok {
			left = append(left, killProcs([]proc{p})...)
		}
		_ = os.Remove(n.pidFile(d))
	}
	if len(left) > 0 {
		return fmt.Errorf("real node: still running after stop: %v", left)
	}
	return nil
}

// otherKubelets lists kubelet processes on this machine that are not this node's.
func (n *RealNode) otherKubelets() []proc {
	var out []proc
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.name == "kubelet" && (n == nil || !strings.Contains(p.cmdline, n.Dir+"/")) {
			out = append(out, p)
		}
	}
	return out
}

// teardown removes everything of the node, in the order test/node/NOTES.md found necessary:
// its pods deleted through the API while the kubelet runs (their sandboxes go through CNI DEL),
// the daemons, kube-proxy's chains (kube-proxy --cleanup), the Node object, leftover containers
// and shims, mounts under the node dir, the bridge, the CNI masquerade rules, and the kubelet's
// own iptables chains and /kubepods cgroups when no other kubelet runs on the machine. Processes
// left and mounts that cannot be removed are errors (the node dir stays, and so does fleet.json,
// for another `fleet down`); a failed network or cgroup cleanup step is only logged, so that a
// fleet can always be removed.
func (n *RealNode) teardown(f *Fleet) []error {
	var errs []error
	c := f.cluster(n.Cluster)
	kubectl := func(timeout time.Duration, args ...string) error {
		if c == nil {
			return errors.New("no cluster")
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(f.BinDir, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return nil
	}
	apiUp := false
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		apiUp = c.healthy(ctx) == nil
		cancel()
	}
	selector := "spec.nodeName=" + n.Name
	if _, ok := n.running("kubelet"); ok && apiUp {
		if err := kubectl(45*time.Second, "delete", "pods", "-A", "--field-selector", selector, "--grace-period=2", "--timeout=30s", "--wait"); err != nil {
			logf("real node: deleting its pods: %v", err)
		}
	}
	if p, ok := n.running("kubelet"); ok {
		killProcs([]proc{p})
	}
	_ = os.Remove(n.pidFile("kubelet"))
	if apiUp {
		// After the kubelet (it would register the Node again); pods still bound to it (the
		// kubelet was not running) are force-deleted, their containers go below.
		_ = kubectl(15*time.Second, "delete", "node", n.Name, "--ignore-not-found", "--timeout=10s")
		_ = kubectl(15*time.Second, "delete", "pods", "-A", "--field-selector", selector, "--grace-period=0", "--force")
	}
	if p, ok := n.running("kube-proxy"); ok {
		killProcs([]proc{p})
	}
	_ = os.Remove(n.pidFile("kube-proxy"))
	if _, err := os.Stat(filepath.Join(n.Dir, "kube-proxy.yaml")); err == nil {
		if out, err := n.runtimeCmd(filepath.Join(n.KubeletBinDir, "kube-proxy"), "--config", filepath.Join(n.Dir, "kube-proxy.yaml"), "--cleanup").CombinedOutput(); err != nil {
			logf("real node: warning: kube-proxy --cleanup: %v: %s", err, lastLines(out, 3))
		}
	}
	// Containers left (the kubelet was gone or did not finish): killed through containerd so that
	// their shims exit.
	if _, ok := n.running("containerd"); ok {
		if out, err := n.ctr("tasks", "ls", "-q"); err == nil {
			ids := strings.Fields(string(out))
			for _, id := range ids {
				_, _ = n.ctr("tasks", "kill", "-s", "KILL", id)
			}
			if len(ids) > 0 {
				time.Sleep(time.Second)
				for _, id := range ids {
					_, _ = n.ctr("tasks", "delete", "-f", id)
				}
			}
		}
	}
	if p, ok := n.running("containerd"); ok {
		killProcs([]proc{p})
	}
	_ = os.Remove(n.pidFile("containerd"))
	// Shims (containerd-shim-runc-v2 ... -address <our socket>) and anything else started with
	// paths in the node dir.
	for round := 0; round < 3; round++ {
		procs := findProcs(n.Dir + "/")
		if len(procs) == 0 {
			break
		}
		for _, p := range procs {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		for _, p := range procs {
			waitGone(p.pid, 5*time.Second)
		}
	}
	if left := findProcs(n.Dir + "/"); len(left) > 0 {
		errs = append(errs, fmt.Errorf("real node: processes still running: %v", left))
	}
	// Mounts under the node dir (overlay rootfs, shm, netns, kubelet volumes), deepest first.
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
		var mounts []string
		for _, l := range strings.Split(string(b), "\n") {
			if fs := strings.Fields(l); len(fs) > 1 {
				m := strings.ReplaceAll(fs[1], `\040`, " ")
				if strings.HasPrefix(m, n.Dir+"/") {
					mounts = append(mounts, m)
				}
			}
		}
		sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
		for _, m := range mounts {
			if err := syscall.Unmount(m, 0); err != nil {
				if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
					errs = append(errs, fmt.Errorf("umount %s: %w", m, err))
				}
			}
		}
	}
	if n.Bridge != "" {
		if _, err := net.InterfaceByName(n.Bridge); err == nil {
			if out, err := exec.Command("ip", "link", "del", n.Bridge).CombinedOutput(); err != nil {
				logf("real node: warning: ip link del %s: %v: %s", n.Bridge, err, bytes.TrimSpace(out))
			}
		}
	}
	noKubelet := len(n.otherKubelets()) == 0
	if _, err := os.Stat(filepath.Join(n.RuntimeDir, "env")); err == nil {
		// The bridge plugin's masquerade rules of pods not torn down through CNI (commented with
		// our network's name) and their CNI-* chains; the kubelet's own chains, which it never
		// removes (KUBE-FIREWALL in INPUT/OUTPUT, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT), when no
		// other kubelet runs.
		script := `set -u
net="$1"; all="$2"
chains="$(iptables -t nat -S POSTROUTING | grep -F "name: \\\"$net\\\"" | grep -o -- '-j CNI-[0-9a-f]*' | cut -c4- | sort -u)"
for n in $(iptables -t nat -L POSTROUTING -n --line-numbers | grep -F "name: \"$net\"" | awk '{ print $1 }' | sort -rn); do
  iptables -t nat -D POSTROUTING "$n"
done
for c in $chains; do iptables -t nat -F "$c" && iptables -t nat -X "$c"; done
if [ "$all" = 1 ]; then
  for ipt in iptables ip6tables; do
    $ipt -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null
    $ipt -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null
    $ipt -t filter -F KUBE-FIREWALL 2>/dev/null && $ipt -t filter -X KUBE-FIREWALL 2>/dev/null
    for t in filter nat mangle; do $ipt -t $t -X KUBE-KUBELET-CANARY 2>/dev/null; done
    $ipt -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null
  done
fi
exit 0
`
		all := "0"
		if noKubelet {
			all = "1"
		}
		if out, err := n.runtimeCmd("bash", "-c", script, "iptables-cleanup", n.CNINetwork, all).CombinedOutput(); err != nil {
			logf("real node: warning: iptables cleanup: %v: %s", err, lastLines(out, 3))
		}
	}
	// The kubelet's cgroups (/kubepods and its QoS children in every hierarchy), once no kubelet
	// is left to use them: rmdir removes empty ones only, deepest first.
	if noKubelet {
		roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
		if st, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil && st.IsDir() {
			roots = append(roots, "/sys/fs/cgroup/kubepods")
		}
		for _, r := range roots {
			var dirs []string
			_ = filepath.WalkDir(r, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- {
				_ = syscall.Rmdir(dirs[i])
			}
			if _, err := os.Stat(r); err == nil {
				logf("real node: warning: cgroup %s remains (processes still in it?)", r)
			}
		}
	}
	if err := os.RemoveAll(n.Dir); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func lastLines(b []byte, k int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// kubeletsRunning lists the kubelets on this machine (a variable so that tests can run beside one).
var kubeletsRunning = func() []proc { return (*RealNode)(nil).otherKubelets() }

// claimRealNode records d as the machine's real node, failing if another fleet's real node runs
// (or any other kubelet).
func claimRealNode(d string) error {
	unlock, err := lockPortRegistry()
	if err != nil {
		return err
	}
	defer unlock()
	if b, err := os.ReadFile(realNodeRecord); err == nil {
		other := strings.TrimSpace(string(b))
		if other != d {
			if f, err := loadFleet(other); err == nil && f.RealNode != nil {
				return fmt.Errorf("another fleet's real node is on this machine (%s; its kube-proxy's and kubelet's iptables chains are machine-wide, so only one real node can run at a time): run `fleet down --dir %s` when it is no longer used, or wait", other, other)
			}
		}
	}
	if ks := kubeletsRunning(); len(ks) > 0 {
		p := ks[0]
		if len(p.cmdline) > 200 {
			p.cmdline = p.cmdline[:200] + "..."
		}
		return fmt.Errorf("a kubelet already runs on this machine (pid %d: %s); only one real node can run at a time", p.pid, p.cmdline)
	}
	return os.WriteFile(realNodeRecord, []byte(d+"\n"), 0o644)
}

// releaseRealNode removes the machine's real node record if it names d.
func releaseRealNode(d string) {
	unlock, err := lockPortRegistry()
	if err != nil {
		return
	}
	defer unlock()
	if b, err := os.ReadFile(realNodeRecord); err == nil && strings.TrimSpace(string(b)) == d {
		_ = os.Remove(realNodeRecord)
	}
}

// status prints the node's line for `fleet status` and returns its RSS (KiB).
func (n *RealNode) status(f *Fleet) int64 {
	healthy := false
	if c := f.cluster(n.Cluster); c != nil {
		if hc, err := c.client(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			healthy = n.ready(ctx, c, hc, time.Time{}) == nil
			cancel()
		}
	}
	for _, d := range nodeDaemons {
		if _, ok := n.running(d); !ok {
			healthy = false
		}
	}
	procs := findProcs(n.Dir + "/")
	var rss int64
	for _, p := range procs {
		rss += p.rssKiB
	}
	server := "https://" + net.JoinHostPort(n.HostIP, strconv.Itoa(n.Ports.Kubelet))
	fmt.Printf("%-12s %-28s %-8v %6d %9.1f  (real node in %s)\n", n.Name, server, healthy, len(procs), float64(rss)/1024, n.Cluster)
	for _, p := range procs {
		fmt.Printf("    %-26s pid %-7d %7.1f MiB\n", p.name, p.pid, float64(p.rssKiB)/1024)
	}
	return rss
}
