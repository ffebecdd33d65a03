package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const fleetAPIVersion = "fleetscale.local/v1alpha1"

// Fleet is the content of <fleetdir>/fleet.json.
type Fleet struct {
	APIVersion        string    `json:"apiVersion"`
	Kind              string    `json:"kind"`
	Dir               string    `json:"dir"`
	BinDir            string    `json:"binDir"`
	KubernetesVersion string    `json:"kubernetesVersion,omitempty"`
	Ready             bool      `json:"ready"`
	Clusters          []Cluster `json:"clusters"`
	// RealNode is the fleet's real node (fleet up --real-node), nil without one.
	RealNode *RealNode `json:"realNode,omitempty"`
}

// cluster returns the named cluster, or nil.
func (f *Fleet) cluster(name string) *Cluster {
	for i := range f.Clusters {
		if f.Clusters[i].Name == name {
			return &f.Clusters[i]
		}
	}
	return nil
}

// Cluster describes one cluster of the fleet.
type Cluster struct {
	Name   string `json:"name"`
	Server string `json:"server"` // https://127.0.0.1:<port>
	// PodServer is the URL at which pods on the fleet's real node reach this API server,
	// https://<host ip>:<port> (a pod's 127.0.0.1 is its own); empty in fleets without a real
	// node, whose API servers listen on 127.0.0.1 only.
	PodServer  string `json:"podServer,omitempty"`
	Kubeconfig string `json:"kubeconfig"` // <fleetdir>/<name>.kubeconfig (admin, certs embedded)
	Context    string `json:"context"`    // context name in that kubeconfig (= name)
	CAFile     string `json:"caFile"`     // PEM CA of the apiserver (and of client certs)
	CertFile   string `json:"certFile"`   // admin client certificate (system:masters)
	KeyFile    string `json:"keyFile"`    // admin client key
	Ports      Ports  `json:"ports"`

	fleetDir string
}

// Ports are the loopback ports of one cluster's components.
type Ports struct {
	KubeApiserver         int `json:"kubeApiserver"`
	Etcd                  int `json:"etcd"`
	EtcdPeer              int `json:"etcdPeer"`
	KubeControllerManager int `json:"kubeControllerManager"`
	KubeScheduler         int `json:"kubeScheduler"`
	KwokController        int `json:"kwokController"`
}

const portsPerCluster = 6

func (f *Fleet) path() string { return filepath.Join(f.Dir, "fleet.json") }

func (f *Fleet) write() error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := f.path() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, f.path())
}

func loadFleet(d string) (*Fleet, error) {
	b, err := os.ReadFile(filepath.Join(d, "fleet.json"))
	if err != nil {
		return nil, err
	}
	f := &Fleet{}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(d, "fleet.json"), err)
	}
	for i := range f.Clusters {
		f.Clusters[i].fleetDir = d
	}
	return f, nil
}

func newCluster(d, name string, p []int) Cluster {
	c := Cluster{
		Name: name,
		Ports: Ports{
			KubeApiserver:         p[0],
			Etcd:                  p[1],
			EtcdPeer:              p[2],
			KubeControllerManager: p[3],
			KubeScheduler:         p[4],
			KwokController:        p[5],
		},
		fleetDir: d,
	}
	c.Server = "https://127.0.0.1:" + strconv.Itoa(c.Ports.KubeApiserver)
	c.Kubeconfig = filepath.Join(d, name+".kubeconfig")
	c.Context = name
	pki := filepath.Join(c.workdir(), "pki")
	c.CAFile = filepath.Join(pki, "ca.crt")
	c.CertFile = filepath.Join(pki, "admin.crt")
	c.KeyFile = filepath.Join(pki, "admin.key")
	return c
}

func (c *Cluster) kwokWorkdir() string { return filepath.Join(c.fleetDir, "kwok") }
func (c *Cluster) workdir() string     { return filepath.Join(c.kwokWorkdir(), "clusters", c.Name) }
func (c *Cluster) configPath() string  { return filepath.Join(c.kwokWorkdir(), c.Name+".kwokctl.yaml") }
func (c *Cluster) logPath() string     { return filepath.Join(c.fleetDir, "logs", c.Name+".kwokctl.log") }

// kwokctlConfig is the KwokctlConfiguration for this cluster: every binary is local (nothing is
// downloaded) and every port is fixed, so that fleets side by side do not clash.
func (c *Cluster) kwokctlConfig(f *Fleet) string {
	b := func(n string) string { return strconv.Quote(filepath.Join(f.BinDir, n)) }
	kubeVersion := f.KubernetesVersion
	if kubeVersion == "" {
		kubeVersion = "v1.36.3"
	}
	etcdVersion := strings.TrimPrefix(readVersion(f.BinDir, "etcd"), "v")
	// Without a real node everything binds 127.0.0.1; a loopback address is not a valid endpoint
	// of the "kubernetes" Service, so that Service's endpoints are not reconciled at all.
	sans := ""
	apiserverArgs := `  - key: advertise-address
    value: 127.0.0.1
  - key: endpoint-reconciler-type
    value: none
`
	if n := f.RealNode; n != nil {
		// A fleet with a real node: pods must reach every API server of the fleet, at the host's
		// address (PodServer). The API server binds 0.0.0.0, not only the host IP: kube-apiserver
		// has one bind address, and everything else (kubeconfigs, health checks, the
		// controller-manager, scheduler and kwok, kwokctl) talks to it at 127.0.0.1, which binding
		// the host IP alone would break. The cost: the API server is exposed on every interface
		// of the machine (clients still need a certificate or token). Its certificate names the
		// host IP, and 10.0.0.1 (the "kubernetes" Service's ClusterIP, which in-cluster clients
		// dial through kube-proxy).
		sans = fmt.Sprintf("  kubeApiserverCertSANs: [%q, \"10.0.0.1\"]\n", n.HostIP)
		apiserverArgs = "  - key: bind-address\n    value: 0.0.0.0\n" + apiserverArgs
		if c.Name == n.Cluster {
			// The node's cluster advertises the host's address and publishes it (lease reconciler)
			// as the endpoint of the "kubernetes" Service, which kube-proxy then serves at 10.0.0.1.
			apiserverArgs = fmt.Sprintf(`  - key: bind-address
    value: 0.0.0.0
  - key: advertise-address
    value: %q
  - key: endpoint-reconciler-type
    value: lease
`, n.HostIP)
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeVersion: %s
`, kubeVersion)
	if etcdVersion != "" {
		fmt.Fprintf(&s, "  etcdVersion: %q\n", etcdVersion)
	}
	fmt.Fprintf(&s, `  securePort: true
  kubeAuthorization: true
  kubeAdmission: true
  quietPull: true
  bindAddress: 127.0.0.1
  cacheDir: %q
  kubeApiserverPort: %d
  etcdPort: %d
  etcdPeerPort: %d
  kubeControllerManagerPort: %d
  kubeSchedulerPort: %d
  kwokControllerPort: %d
  # Node heartbeats: kwokctl multiplies them by 5 by default (200s node leases), which would
  # keep a restarted kwok controller away from its nodes for minutes.
  heartbeatFactor: 1
%s  nodeLeaseDurationSeconds: 20
  etcdBinary: %s
  kubeApiserverBinary: %s
  kubeControllerManagerBinary: %s
  kubeSchedulerBinary: %s
  kwokControllerBinary: %s
  kubectlBinary: %s
componentsPatches:
- name: kube-apiserver
  extraArgs:
%s  # kubectl logs/exec on a real node: the API server authenticates to that kubelet with the
  # admin certificate (the kubelet's API refuses anonymous requests).
  - key: kubelet-client-certificate
    value: %q
  - key: kubelet-client-key
    value: %q
  # Reach a real kubelet at its node's InternalIP: its Hostname address (the node name) does
  # not resolve. kwok's nodes carry made-up addresses either way (no kubectl logs on them).
  - key: kubelet-preferred-address-types
    value: InternalIP,Hostname
# kwok manages only its own (annotated) nodes, so that a real kubelet's node beside them is left
# to that kubelet (kwokctl's binary runtime passes --manage-all-nodes=true; the last flag wins).
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
  - key: manage-nodes-with-annotation-selector
    value: kwok.x-k8s.io/node=fake
# One instance each: no leader election, so that a restarted cluster's controllers and
# scheduler work at once instead of waiting for the old instance's lease to expire.
- name: kube-controller-manager
  extraArgs:
  - key: leader-elect
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
`, filepath.Join(c.kwokWorkdir(), "cache"),
		c.Ports.KubeApiserver, c.Ports.Etcd, c.Ports.EtcdPeer, c.Ports.KubeControllerManager,
		c.Ports.KubeScheduler, c.Ports.KwokController, sans,
		b("etcd"), b("kube-apiserver"), b("kube-controller-manager"), b("kube-scheduler"), b("kwok"), b("kubectl"),
		apiserverArgs,
		filepath.Join(c.workdir(), "pki", "admin.crt"), filepath.Join(c.workdir(), "pki", "admin.key"))
	return s.String()
}

// kwokctl runs one kwokctl command for this cluster, logging to logs/<name>.kwokctl.log.
func (c *Cluster) kwokctl(ctx context.Context, f *Fleet, args ...string) error {
	full := append([]string{"--name", c.Name, "--config", c.configPath()}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(f.BinDir, "kwokctl"), full...)
	env := []string{}
	for _, e := range os.Environ() {
		// The caller's KWOK_* settings must not leak into the fleet.
		if strings.HasPrefix(e, "KWOK_") || strings.HasPrefix(e, "PATH=") || strings.HasPrefix(e, "KUBECONFIG=") {
			continue
		}
		env = append(env, e)
	}
	env = append(env,
		"KWOK_WORKDIR="+c.kwokWorkdir(),
		// kwokctl looks kubectl up on PATH before it would download it.
		"PATH="+f.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+filepath.Join(c.workdir(), "kubeconfig.yaml"),
	)
	cmd.Env = env
	cmd.Dir = c.fleetDir
	logFile, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "\n$ kwokctl %s\n", strings.Join(full, " "))
	var tail bytes.Buffer
	cmd.Stdout = io.MultiWriter(logFile, &tail)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		out := tail.String()
		if len(out) > 2000 {
			out = "..." + out[len(out)-2000:]
		}
		return fmt.Errorf("%s: kwokctl %s: %w\n%s", c.Name, strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *Cluster) create(ctx context.Context, f *Fleet, nodes int) error {
	if err := os.MkdirAll(c.kwokWorkdir(), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.configPath(), []byte(c.kwokctlConfig(f)), 0o644); err != nil {
		return err
	}
	// --kubeconfig= keeps kwokctl away from ~/.kube/config.
	if err := c.kwokctl(ctx, f, "create", "cluster", "--kubeconfig="); err != nil {
		return err
	}
	if err := c.writeKubeconfig(); err != nil {
		return err
	}
	if err := c.waitAPI(ctx); err != nil {
		return err
	}
	if nodes > 0 {
		if err := c.kwokctl(ctx, f, "scale", "node", "--replicas", strconv.Itoa(nodes)); err != nil {
			return err
		}
	}
	return c.waitReady(ctx, nodes > 0)
}

// start restarts all components of a stopped cluster (data is kept in its etcd data dir).
func (c *Cluster) start(ctx context.Context, f *Fleet) error {
	c.removeStalePidFiles()
	if err := c.waitPortsFree(ctx); err != nil {
		return err
	}
	if err := c.kwokctl(ctx, f, "start", "cluster"); err != nil {
		return err
	}
	return c.waitReady(ctx, true)
}

// component is one process of a cluster, named as kwokctl names its pid and log files.
type component struct {
	name   string
	ports  []int
	health string // URL that answers 200 while the component works ("" for the apiserver: waitAPI)
}

// components lists the processes of the cluster in the order kwokctl starts them.
func (c *Cluster) components() []component {
	p := c.Ports
	url := func(scheme string, port int, path string) string {
		return scheme + "://127.0.0.1:" + strconv.Itoa(port) + path
	}
	return []component{
		{"etcd", []int{p.Etcd, p.EtcdPeer}, url("http", p.Etcd, "/health")},
		{"kube-apiserver", []int{p.KubeApiserver}, ""},
		{"kube-controller-manager", []int{p.KubeControllerManager}, url("https", p.KubeControllerManager, "/healthz")},
		{"kube-scheduler", []int{p.KubeScheduler}, url("https", p.KubeScheduler, "/healthz")},
		{"kwok-controller", []int{p.KwokController}, url("http", p.KwokController, "/healthz")},
	}
}

// running returns the process named by a component's pid file if it is alive and belongs to
// this cluster. kwokctl trusts any live pid, but a killed component can linger as a zombie or
// its pid can be reused.
func (c *Cluster) running(name string) (proc, bool) {
	return runningFrom(filepath.Join(c.workdir(), "pids", name+".pid"), c.workdir())
}

// runningFrom returns the process a pid file names, if it is alive and runs from under dir
// (a pid alone can have been reused by another process).
func runningFrom(pidFile, dir string) (proc, bool) {
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		return proc{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return proc{}, false
	}
	p, ok := readProc(pid)
	return p, ok && strings.Contains(p.cmdline, dir+"/")
}

// removeStalePidFiles removes pid files of components that are no longer running (crashed or
// killed), so that kwokctl starts them again.
func (c *Cluster) removeStalePidFiles() {
	files, _ := filepath.Glob(filepath.Join(c.workdir(), "pids", "*.pid"))
	for _, file := range files {
		if _, ok := c.running(strings.TrimSuffix(filepath.Base(file), ".pid")); !ok {
			_ = os.Remove(file)
		}
	}
}

// waitPortsFree waits until the components that are not running can bind their ports. While a
// cluster is stopped its ports are free for any program to take; the component would then exit
// at once ("bind: address already in use") while kwokctl and the apiserver checks succeed. The
// short wait covers a process that is still exiting.
func (c *Cluster) waitPortsFree(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, comp := range c.components() {
		if _, ok := c.running(comp.name); ok {
			continue
		}
		for _, port := range comp.ports {
			for !portFree(port) {
				select {
				case <-ctx.Done():
					return fmt.Errorf("%s: port %d of %s is in use by %s; stop it, or make a new fleet (fleet down, fleet up) to get other ports",
						c.Name, port, comp.name, portHolder(port))
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}
	return nil
}

// waitComponents waits until every component runs and answers its health check. kwokctl does not
// look at the processes after starting them, so without this a component that exits at once
// would leave the cluster without a scheduler or controllers while the apiserver looks fine.
func (c *Cluster) waitComponents(ctx context.Context) error {
	hc := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			// The controller-manager and the scheduler serve a certificate they made up at startup.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
	}
	check := func(comp component) error {
		if comp.health == "" {
			return nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, comp.health, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", comp.health, resp.Status, bytes.TrimSpace(body))
		}
		return nil
	}
	comps := c.components()
	for _, comp := range comps {
		for {
			if err := c.checkRunning(comp); err != nil {
				return err
			}
			err := check(comp)
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("timed out waiting for %s: %s: %v", c.Name, comp.name, err)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	// One may have exited while the others were checked.
	for _, comp := range comps {
		if err := c.checkRunning(comp); err != nil {
			return err
		}
	}
	return nil
}

// checkRunning fails with the end of the component's log if its process is not running.
func (c *Cluster) checkRunning(comp component) error {
	if _, ok := c.running(comp.name); ok {
		return nil
	}
	log := filepath.Join(c.workdir(), "logs", comp.name+".log")
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return fmt.Errorf("%s: %s is not running; end of %s:\n%s", c.Name, comp.name, log, strings.Join(lines, "\n"))
}

// stop terminates every component of the cluster: SIGTERM (etcd last), then SIGKILL after 15s.
// It returns once every process has exited, so their ports are free for `start`.
func (c *Cluster) stop() error {
	order := []string{"kwok-controller", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"}
	pidDir := filepath.Join(c.workdir(), "pids")
	var pids []int
	seen := map[int]bool{}
	add := func(file string) {
		raw, err := os.ReadFile(file)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && pid > 1 && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
		_ = os.Remove(file)
	}
	for _, n := range order {
		add(filepath.Join(pidDir, n+".pid"))
	}
	if rest, _ := filepath.Glob(filepath.Join(pidDir, "*.pid")); len(rest) > 0 {
		for _, r := range rest {
			add(r)
		}
	}
	prefix := c.workdir() + "/"
	var procs []proc
	for _, pid := range pids {
		// Only signal pids that really belong to this cluster (pid files may be stale).
		if p, ok := readProc(pid); ok && strings.Contains(p.cmdline, prefix) {
			procs = append(procs, p)
		}
	}
	// Processes of this cluster without a pid file (interrupted start).
	for _, p := range findProcs(prefix) {
		if !seen[p.pid] {
			procs = append(procs, p)
		}
	}
	// The kwok controller goes first. Its node leases carry a per-process identity, and a
	// restarted controller would leave the nodes (and their pods) alone until the old leases
	// expire; so release them while the apiserver is still up.
	var kwok, rest []proc
	for _, p := range procs {
		if p.name == "kwok-controller" {
			kwok = append(kwok, p)
		} else {
			rest = append(rest, p)
		}
	}
	left := killProcs(kwok)
	if len(kwok) > 0 {
		c.releaseNodeLeases()
	}
	if left = append(left, killProcs(rest)...); len(left) == 0 {
		// Started meanwhile, e.g. by a kwokctl that was still running.
		left = findProcs(prefix)
	}
	if len(left) > 0 {
		return fmt.Errorf("%s: processes still running after stop: %v", c.Name, left)
	}
	return nil
}

// releaseNodeLeases deletes the node leases (best effort; the apiserver may already be down).
func (c *Cluster) releaseNodeLeases() {
	hc, err := c.client()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete,
		c.Server+"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", nil)
	if err != nil {
		return
	}
	if resp, err := hc.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (c *Cluster) writeKubeconfig() error {
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(c.CertFile)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return err
	}
	e := base64.StdEncoding.EncodeToString
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
users:
- name: %[1]s-admin
  user:
    client-certificate-data: %[4]s
    client-key-data: %[5]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s-admin
current-context: %[1]s
`, c.Name, c.Server, e(ca), e(cert), e(key))
	return os.WriteFile(c.Kubeconfig, []byte(kc), 0o600)
}

func (c *Cluster) client() (*http.Client, error) {
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s: no certificate in %s", c.Name, c.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
			DisableKeepAlives: true,
		},
	}, nil
}

func (c *Cluster) get(ctx context.Context, hc *http.Client, path string, into any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	if into != nil {
		return resp.StatusCode, json.Unmarshal(body, into)
	}
	return resp.StatusCode, nil
}

// healthy reports whether the apiserver answers /readyz.
func (c *Cluster) healthy(ctx context.Context) error {
	hc, err := c.client()
	if err != nil {
		return err
	}
	_, err = c.get(ctx, hc, "/readyz", nil)
	return err
}

func (c *Cluster) waitAPI(ctx context.Context) error {
	return poll(ctx, c.Name+": apiserver /readyz", func() error { return c.healthy(ctx) })
}

// waitReady waits for /readyz, every component running and healthy, a Ready node (if wanted)
// and the default ServiceAccount (pods cannot be admitted before the serviceaccount controller
// created it).
func (c *Cluster) waitReady(ctx context.Context, wantNode bool) error {
	hc, err := c.client()
	if err != nil {
		return err
	}
	if err := c.waitAPI(ctx); err != nil {
		return err
	}
	if err := c.waitComponents(ctx); err != nil {
		return err
	}
	if wantNode {
		err := poll(ctx, c.Name+": a Ready node", func() error {
			var nodes struct {
				Items []struct {
					Metadata struct{ Name string }
					Status   struct {
						Conditions []struct{ Type, Status string }
					}
				}
			}
			if _, err := c.get(ctx, hc, "/api/v1/nodes", &nodes); err != nil {
				return err
			}
			for _, n := range nodes.Items {
				for _, cond := range n.Status.Conditions {
					if cond.Type == "Ready" && cond.Status == "True" {
						return nil
					}
				}
			}
			return fmt.Errorf("%d nodes, none Ready", len(nodes.Items))
		})
		if err != nil {
			return err
		}
	}
	return poll(ctx, c.Name+": default ServiceAccount", func() error {
		_, err := c.get(ctx, hc, "/api/v1/namespaces/default/serviceaccounts/default", nil)
		return err
	})
}

func poll(ctx context.Context, what string, f func() error) error {
	var last error
	for {
		if last = f(); last == nil {
			return nil
		}
		var p *permanent
		if errors.As(last, &p) {
			return p.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s: %v", what, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// allocatePorts returns n distinct free loopback ports for the fleet in d and records them in the
// port registry. They are picked at random below the kernel's ephemeral range (so outgoing
// connections never take them), skipping the ports of other fleets: those of a stopped cluster
// are free as far as the kernel knows, but its components need them back on `fleet start`.
func allocatePorts(d string, n int) ([]int, error) {
	unlock, err := lockPortRegistry()
	if err != nil {
		return nil, err
	}
	defer unlock()
	reserved := reservedPorts()
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	lo, hi := 20000, 32000
	if a, b, ok := ephemeralRange(); ok && a > lo+2000 && a <= 32768 {
		hi = a - 1
		_ = b
	}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("could not find free ports")
		}
		p := lo + rand.IntN(hi-lo)
		if reserved[p] {
			continue
		}
		// The components bind 127.0.0.1 only, but nothing may hold the port on the wildcard
		// address either; test that first, then hold the loopback port until all are chosen.
		l2, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		_ = l2.Close()
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		listeners = append(listeners, l)
		ports = append(ports, p)
	}
	if err := reservePorts(d, ports); err != nil {
		return nil, err
	}
	return ports, nil
}

func ephemeralRange() (int, int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(f[0])
	z, err2 := strconv.Atoi(f[1])
	return a, z, err1 == nil && err2 == nil
}

// proc is a running process found in /proc.
type proc struct {
	pid     int
	name    string
	cmdline string
	rssKiB  int64
}

func (p proc) String() string { return fmt.Sprintf("%s[%d]", p.name, p.pid) }

// readProc reads /proc/<pid>; zombies and vanished processes are reported as not running.
func readProc(pid int) (proc, bool) {
	base := filepath.Join("/proc", strconv.Itoa(pid))
	status, err := os.ReadFile(filepath.Join(base, "status"))
	if err != nil {
		return proc{}, false
	}
	p := proc{pid: pid}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(l, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			p.name = v
		case "State":
			if strings.HasPrefix(v, "Z") || strings.HasPrefix(v, "X") {
				return proc{}, false
			}
		case "VmRSS":
			n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			p.rssKiB = n
		}
	}
	cmd, err := os.ReadFile(filepath.Join(base, "cmdline"))
	if err != nil || len(cmd) == 0 {
		return proc{}, false
	}
	p.cmdline = strings.ReplaceAll(string(cmd), "\x00", " ")
	if argv0, _, _ := strings.Cut(string(cmd), "\x00"); argv0 != "" {
		p.name = filepath.Base(argv0) // /proc/<pid>/status truncates names to 15 bytes
	}
	return p, true
}

// findProcs lists live processes whose command line mentions the given path prefix
// (every component is started with paths inside its cluster's work dir).
func findProcs(prefix string) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if p, ok := readProc(pid); ok && strings.Contains(p.cmdline, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// killProcs sends SIGTERM to each process in order, waiting for it to exit (15s) before the
// next one, and SIGKILL to anything that does not exit. It returns those that did not exit.
func killProcs(procs []proc) []proc {
	var left []proc
	for _, p := range procs {
		if exited(p.pid) {
			continue
		}
		_ = syscall.Kill(p.pid, syscall.SIGTERM)
		if !waitGone(p.pid, 15*time.Second) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
			if !waitGone(p.pid, 5*time.Second) {
				left = append(left, p)
			}
		}
	}
	return left
}

// killAll sends SIGTERM to all processes at once, then SIGKILL to those still there after 10s.
func killAll(procs []proc) {
	for _, p := range procs {
		_ = syscall.Kill(p.pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range procs {
		if !waitGone(p.pid, time.Until(deadline)) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	for _, p := range procs {
		waitGone(p.pid, 5*time.Second)
	}
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if exited(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited reports whether every thread of a process has exited. /proc shows a Go process's main
// thread as a zombie, or with an empty command line, while its other threads are still exiting
// and its sockets still open (measured: up to ~9 ms after SIGKILL); its ports are free only once
// no thread is left.
func exited(pid int) bool {
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return true
	}
	zombie, threads := false, ""
	for _, l := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch v = strings.TrimSpace(v); k {
		case "State":
			zombie = strings.HasPrefix(v, "Z") || strings.HasPrefix(v, "X")
		case "Threads":
			threads = v
		}
	}
	return zombie && threads == "1"
}
