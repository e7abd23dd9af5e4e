//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// runtimeDefaultCaps is the capability set containerd gives a container
// that neither adds nor drops any, which a Deployment's add and drop
// change.
var runtimeDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// defaultPath is the PATH a runtime sets when the image sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// node is what the kubelet and the node supply to a container beyond the
// pod's own settings.
type node struct {
	netns          string            // the pod's network namespace
	resolvConf     string            // the node's resolv.conf (dnsPolicy: Default)
	serviceAccount string            // a directory with token, ca.crt and namespace
	serviceEnv     map[string]string // KUBERNETES_SERVICE_HOST and _PORT
	volumes        string            // where ConfigMap volumes are written
}

// containerSpec turns the first container of a Deployment's pod template,
// with the image's config, into an OCI runtime configuration for runc, the
// way the kubelet and containerd do: base is what `runc spec` writes (the
// runtime's defaults for mounts, masked paths and namespaces), and what the
// pod says overrides it: command and args, env (resource fields resolved),
// user and group, capabilities, no_new_privs, read-only root, seccomp,
// resources and volumes. What this cannot translate is an error, not a
// silent default.
func containerSpec(base *specs.Spec, d *appsv1.Deployment, configMaps []*corev1.ConfigMap, img imageConfig, rootfs string, n node) (*specs.Spec, error) {
	s := *base
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(pod.InitContainers) > 0 {
		return nil, fmt.Errorf("pod has %d containers and %d init containers, want one container", len(pod.Containers), len(pod.InitContainers))
	}
	c := pod.Containers[0]
	s.Root = &specs.Root{Path: rootfs}
	s.Hostname = d.Name
	p := &specs.Process{Cwd: img.Config.WorkingDir, Rlimits: base.Process.Rlimits}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	p.Args = containerArgs(c, img)
	env, err := containerEnv(c, img, d.Name, n.serviceEnv)
	if err != nil {
		return nil, err
	}
	p.Env = env
	user, err := containerUser(pod.SecurityContext, c.SecurityContext, img)
	if err != nil {
		return nil, err
	}
	p.User = user
	caps := containerCaps(c.SecurityContext)
	p.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	sc := c.SecurityContext
	if sc != nil && sc.AllowPrivilegeEscalation != nil {
		p.NoNewPrivileges = !*sc.AllowPrivilegeEscalation
	}
	if sc != nil && sc.ReadOnlyRootFilesystem != nil {
		s.Root.Readonly = *sc.ReadOnlyRootFilesystem
	}
	s.Process = p

	linux := *base.Linux
	s.Linux = &linux
	linux.Namespaces = nil
	for _, ns := range base.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			ns.Path = n.netns
		}
		linux.Namespaces = append(linux.Namespaces, ns)
	}
	linux.Resources = containerResources(base.Linux.Resources, c.Resources)
	if linux.Seccomp, err = containerSeccomp(pod.SecurityContext, sc, &s); err != nil {
		return nil, err
	}

	mounts, err := containerMounts(pod, c, configMaps, n)
	if err != nil {
		return nil, err
	}
	s.Mounts = append(slices.Clone(base.Mounts), mounts...)
	return &s, nil
}

// containerArgs is the command line: the container's command, or the
// image's entrypoint, then the container's args, or the image's cmd when
// neither command nor args is set.
func containerArgs(c corev1.Container, img imageConfig) []string {
	switch {
	case len(c.Command) > 0:
		return append(slices.Clone(c.Command), c.Args...)
	case len(c.Args) > 0:
		return append(slices.Clone(img.Config.Entrypoint), c.Args...)
	default:
		return append(slices.Clone(img.Config.Entrypoint), img.Config.Cmd...)
	}
}

// containerEnv is the image's environment, then HOSTNAME, the container's
// variables and the API server's service variables.
func containerEnv(c corev1.Container, img imageConfig, hostname string, service map[string]string) ([]string, error) {
	env := slices.Clone(img.Config.Env)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append(env, defaultPath)
	}
	env = append(env, "HOSTNAME="+hostname)
	for _, e := range c.Env {
		v, err := envValue(c, e)
		if err != nil {
			return nil, err
		}
		env = append(env, e.Name+"="+v)
	}
	for _, k := range slices.Sorted(maps.Keys(service)) {
		env = append(env, k+"="+service[k])
	}
	return env, nil
}

// envValue is one variable's value, with a resourceFieldRef resolved as
// the kubelet does (the quantity divided by the divisor, rounded up).
func envValue(c corev1.Container, e corev1.EnvVar) (string, error) {
	if e.ValueFrom == nil {
		return e.Value, nil
	}
	ref := e.ValueFrom.ResourceFieldRef
	if ref == nil {
		return "", fmt.Errorf("env %s: only resourceFieldRef is translated", e.Name)
	}
	var q resource.Quantity
	var ok bool
	switch ref.Resource {
	case "limits.memory":
		q, ok = c.Resources.Limits[corev1.ResourceMemory]
	case "requests.memory":
		q, ok = c.Resources.Requests[corev1.ResourceMemory]
	case "limits.cpu":
		q, ok = c.Resources.Limits[corev1.ResourceCPU]
	case "requests.cpu":
		q, ok = c.Resources.Requests[corev1.ResourceCPU]
	}
	if !ok {
		return "", fmt.Errorf("env %s: %s is not set (the kubelet would use the node's allocatable)", e.Name, ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	v := (q.MilliValue() + divisor.MilliValue() - 1) / divisor.MilliValue()
	return strconv.FormatInt(v, 10), nil
}

// containerUser is the user and group the process runs as: the container's
// runAsUser and runAsGroup, else the pod's, else the image's numeric User;
// runAsNonRoot refuses 0, as the kubelet does.
func containerUser(pod *corev1.PodSecurityContext, c *corev1.SecurityContext, img imageConfig) (specs.User, error) {
	var uid, gid *int64
	var nonRoot *bool
	if pod != nil {
		uid, gid, nonRoot = pod.RunAsUser, pod.RunAsGroup, pod.RunAsNonRoot
	}
	if c != nil {
		uid, gid, nonRoot = or(c.RunAsUser, uid), or(c.RunAsGroup, gid), or(c.RunAsNonRoot, nonRoot)
	}
	imgUser, imgGroup, _ := strings.Cut(img.Config.User, ":")
	if uid == nil {
		v, err := strconv.ParseInt(imgUser, 10, 64)
		if err != nil {
			return specs.User{}, fmt.Errorf("image user %q is not numeric and the pod sets no runAsUser", img.Config.User)
		}
		uid = &v
	}
	if gid == nil {
		v, err := strconv.ParseInt(imgGroup, 10, 64)
		if err != nil {
			v = 0
		}
		gid = &v
	}
	if nonRoot != nil && *nonRoot && *uid == 0 {
		return specs.User{}, errors.New("runAsNonRoot and the container would run as root")
	}
	return specs.User{UID: uint32(*uid), GID: uint32(*gid)}, nil
}

func or[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// containerCaps is the runtime's default set with the container's drop
// (ALL drops every one) and add applied, as "CAP_" names.
func containerCaps(sc *corev1.SecurityContext) []string {
	caps := slices.Clone(runtimeDefaultCaps)
	if sc == nil || sc.Capabilities == nil {
		return caps
	}
	for _, drop := range sc.Capabilities.Drop {
		if drop == "ALL" {
			caps = nil
			break
		}
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == "CAP_"+string(drop) })
	}
	for _, add := range sc.Capabilities.Add {
		if name := "CAP_" + string(add); !slices.Contains(caps, name) {
			caps = append(caps, name)
		}
	}
	return caps
}

// containerResources is the cgroup configuration of the container's
// requests and limits, as the kubelet computes it: CPU shares from the
// request, a CFS quota from a CPU limit, the memory limit.
func containerResources(base *specs.LinuxResources, r corev1.ResourceRequirements) *specs.LinuxResources {
	res := &specs.LinuxResources{}
	if base != nil {
		res.Devices = base.Devices
	}
	if cpu, ok := r.Requests[corev1.ResourceCPU]; ok {
		shares := uint64(max(2, cpu.MilliValue()*1024/1000))
		res.CPU = &specs.LinuxCPU{Shares: &shares}
	}
	if cpu, ok := r.Limits[corev1.ResourceCPU]; ok {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		period := uint64(100000)
		quota := cpu.MilliValue() * 100000 / 1000
		res.CPU.Period, res.CPU.Quota = &period, &quota
	}
	if mem, ok := r.Limits[corev1.ResourceMemory]; ok {
		limit := mem.Value()
		res.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	return res
}

// containerSeccomp is the seccomp filter of the container's profile, else
// the pod's: RuntimeDefault is the default profile of Moby, which
// containerd's default profile is derived from (the same allowed system
// calls, with the same conditions on capabilities, read from s's bounding
// set), generated by github.com/moby/profiles/seccomp.
func containerSeccomp(pod *corev1.PodSecurityContext, c *corev1.SecurityContext, s *specs.Spec) (*specs.LinuxSeccomp, error) {
	var profile *corev1.SeccompProfile
	if pod != nil {
		profile = pod.SeccompProfile
	}
	if c != nil && c.SeccompProfile != nil {
		profile = c.SeccompProfile
	}
	switch {
	case profile == nil, profile.Type == corev1.SeccompProfileTypeUnconfined:
		return nil, nil
	case profile.Type == corev1.SeccompProfileTypeRuntimeDefault:
		return seccomp.GetDefaultProfile(s)
	default:
		return nil, fmt.Errorf("seccomp profile %s is not translated", profile.Type)
	}
}

// containerMounts is the container's volume mounts (ConfigMap volumes,
// written under n.volumes as the kubelet writes them), the service account
// token at its standard path and the node's resolv.conf.
func containerMounts(pod corev1.PodSpec, c corev1.Container, configMaps []*corev1.ConfigMap, n node) ([]specs.Mount, error) {
	bind := func(src, dst string, ro bool) specs.Mount {
		opts := []string{"rbind", "nosuid", "nodev"}
		if ro {
			opts = append(opts, "ro")
		}
		return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
	}
	var mounts []specs.Mount
	for _, vm := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name })
		if i < 0 || pod.Volumes[i].ConfigMap == nil {
			return nil, fmt.Errorf("volume mount %s: only ConfigMap volumes are translated", vm.Name)
		}
		dir := filepath.Join(n.volumes, vm.Name)
		if err := writeConfigMapVolume(dir, pod.Volumes[i].ConfigMap, configMaps); err != nil {
			return nil, fmt.Errorf("volume %s: %w", vm.Name, err)
		}
		mounts = append(mounts, bind(dir, vm.MountPath, vm.ReadOnly))
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		mounts = append(mounts, bind(n.serviceAccount, "/var/run/secrets/kubernetes.io/serviceaccount", true))
	}
	if pod.DNSPolicy != corev1.DNSDefault {
		return nil, fmt.Errorf("dnsPolicy %s is not translated", pod.DNSPolicy)
	}
	return append(mounts, bind(n.resolvConf, "/etc/resolv.conf", true)), nil
}

// writeConfigMapVolume writes the keys a ConfigMap volume selects (all of
// them without items) as files readable by any user, the kubelet's default
// mode 0644.
func writeConfigMapVolume(dir string, v *corev1.ConfigMapVolumeSource, configMaps []*corev1.ConfigMap) error {
	i := slices.IndexFunc(configMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == v.Name })
	if i < 0 {
		return fmt.Errorf("no ConfigMap %s", v.Name)
	}
	data := configMaps[i].Data
	items := v.Items
	if len(items) == 0 {
		for _, k := range slices.Sorted(maps.Keys(data)) {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	for _, it := range items {
		value, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("ConfigMap %s has no key %s", v.Name, it.Key)
		}
		path := filepath.Join(dir, it.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeSpec writes s as the bundle's config.json.
func writeSpec(bundle string, s *specs.Spec) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o600)
}
