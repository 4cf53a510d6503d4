package node

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// hostPaths are the places outside _output the node's components write to whatever they are
// told (hack/lib/node.sh, NODE_HOST_PATHS), plus the ones they must not touch at all.
// /etc/containerd is not among them: the containerd package, which local-up installs when it
// is missing and leaves installed, ships it; the node's containerd reads its own config.
var hostPaths = []string{"/run/netns", "/var/log/pods", "/var/log/containers", "/run/containerd",
	"/run/xtables.lock", "/var/lib/kubelet", "/var/lib/cni", "/var/lib/containerd", "/etc/cni",
	"/opt/cni", "/var/lib/kube-router", "/run/kubernetes", "/var/run/kubernetes"}

// hostSysctls are the sysctls the node's components set.
var hostSysctls = []string{"net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables",
	"net.bridge.bridge-nf-call-ip6tables", "net.ipv4.conf.all.route_localnet", "vm.overcommit_memory",
	"vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops", "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes"}

// snapshot is what local-up may change on the host, in a comparable form.
type snapshot map[string][]string

var (
	counters  = regexp.MustCompile(`\[\d+:\d+\]`)
	linkStats = regexp.MustCompile(`^\d+: (\S+?)(@\S+)?: .*link/(\S+)`)
)

// takeSnapshot reads iptables and ip6tables (without counters), nftables tables, ipsets,
// /proc/mounts, cgroup directories down to depth 3 (but the machine supervisor's), links, network namespaces, the hostPaths
// with their entries, and hostSysctls.
func takeSnapshot() (snapshot, error) {
	s := snapshot{}
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		if _, err := exec.LookPath(cmd); err != nil {
			// Not installed yet (local-up installs iptables): there are no iptables rules.
			continue
		}
		out, err := run(cmd)
		if err != nil {
			return nil, err
		}
		for _, l := range lines(out) {
			if !strings.HasPrefix(l, "#") {
				s[cmd] = append(s[cmd], counters.ReplaceAllString(l, ""))
			}
		}
	}
	if out, err := run("nft", "list", "tables"); err == nil {
		s["nft tables"] = sorted(lines(out))
	}
	if out, err := run("ipset", "list", "-n"); err == nil {
		s["ipsets"] = sorted(lines(out))
	}
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return nil, err
	}
	s["mounts"] = sorted(lines(string(mounts)))
	cgroups, err := run("find", "/sys/fs/cgroup", "-mindepth", "1", "-maxdepth", "3", "-type", "d")
	if err != nil {
		return nil, err
	}
	for _, l := range lines(cgroups) {
		// The machine's own supervisor makes a cgroup for every command it runs.
		if !strings.Contains(l, "/process_api") {
			s["cgroups"] = append(s["cgroups"], l)
		}
	}
	sort.Strings(s["cgroups"])
	links, err := run("ip", "-o", "link")
	if err != nil {
		return nil, err
	}
	for _, l := range lines(links) {
		if m := linkStats.FindStringSubmatch(l); m != nil {
			s["links"] = append(s["links"], m[1]+" "+m[3])
		}
	}
	sort.Strings(s["links"])
	netns, err := run("ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	s["netns"] = sorted(lines(netns))
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		s["paths"] = append(s["paths"], p)
		entries, _ := filepath.Glob(filepath.Join(p, "*"))
		s["paths"] = append(s["paths"], entries...)
	}
	sort.Strings(s["paths"])
	for _, name := range hostSysctls {
		v, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
		if err == nil {
			s["sysctls"] = append(s["sysctls"], name+"="+strings.TrimSpace(string(v)))
		}
	}
	return s, nil
}

// diff describes what differs between two snapshots, by part, as lines only in one of them.
func diff(before, after snapshot) []string {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		b, a := set(before[k]), set(after[k])
		for l := range b {
			if !a[l] {
				out = append(out, fmt.Sprintf("%s: gone: %s", k, l))
			}
		}
		for l := range a {
			if !b[l] {
				out = append(out, fmt.Sprintf("%s: added: %s", k, l))
			}
		}
	}
	sort.Strings(out)
	return out
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// lines splits command output into its non-empty lines.
func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

func sorted(l []string) []string { sort.Strings(l); return l }

func set(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, x := range l {
		m[x] = true
	}
	return m
}
