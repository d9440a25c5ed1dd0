package deploy

import (
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// The deployment's files are checked as text against the code: none of
// them is run here (no container runtime runs containers on the machine
// the tests were written on).

// settings returns every environment variable gatehouse.Config reads.
func settings() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeFor[gatehouse.Config]()
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("env"); tag != "" && tag != "-" {
			names[tag] = true
		}
	}
	return names
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var settingName = regexp.MustCompile(`\bGATEHOUSE_[A-Z0-9_]+\b`)

// TestNamesOnlySettingsThatExist reads every GATEHOUSE_* name in the
// deployment's files and its documentation: each must be a setting of
// gatehouse.Config, so a renamed or misspelt one fails here rather than
// being silently ignored by a running server.
func TestNamesOnlySettingsThatExist(t *testing.T) {
	t.Parallel()
	known := settings()
	for _, path := range []string{
		"compose.yaml", "Caddyfile", "env.example", "gatehouse.service", "build-image.sh",
		"../Dockerfile", "../docs/deploy.md",
	} {
		names := settingName.FindAllString(read(t, path), -1)
		if len(names) == 0 && path != "Caddyfile" && path != "build-image.sh" {
			t.Errorf("%s names no GATEHOUSE_* setting: is this test reading the right file?", path)
		}
		for _, n := range names {
			if !known[n] {
				t.Errorf("%s names %s, which is not a setting (no env tag in config.go)", path, n)
			}
		}
	}
}

// compose is deploy/compose.yaml, parsed.
type compose struct {
	services map[string]map[string]any
	networks map[string]any
	doc      map[string]any
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	doc, err := parseYAML(read(t, "compose.yaml"))
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	c := compose{doc: doc, services: map[string]map[string]any{}}
	svcs, _ := doc["services"].(map[string]any)
	for name, s := range svcs {
		m, ok := s.(map[string]any)
		if !ok {
			t.Fatalf("compose.yaml: service %s is not a mapping", name)
		}
		c.services[name] = m
	}
	c.networks, _ = doc["networks"].(map[string]any)
	return c
}

// env returns a service's environment (mapping or KEY=VALUE list form).
func (c compose) env(t *testing.T, service string) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch e := c.services[service]["environment"].(type) {
	case nil:
	case map[string]any:
		for k, v := range e {
			s, _ := v.(string)
			out[k] = s
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(kv.(string), "=")
			out[k] = v
		}
	default:
		t.Fatalf("compose.yaml: %s's environment is a %T", service, e)
	}
	return out
}

// strs returns a list of strings (a flow or block sequence, or the keys
// of a mapping, as compose allows for networks).
func strs(v any) []string {
	var out []string
	switch v := v.(type) {
	case []any:
		for _, s := range v {
			str, _ := s.(string)
			out = append(out, str)
		}
	case map[string]any:
		for k := range v {
			out = append(out, k)
		}
		sort.Strings(out)
	}
	return out
}

// nodes returns the services that run Gatehouse: those given a secret.
func (c compose) nodes(t *testing.T) []string {
	t.Helper()
	var nodes []string
	for name := range c.services {
		if _, ok := c.env(t, name)["GATEHOUSE_SECRET"]; ok {
			nodes = append(nodes, name)
		}
	}
	sort.Strings(nodes)
	return nodes
}

// interpolation is compose's ${NAME}, ${NAME:-default}, ${NAME:?message}.
var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate replaces each variable with its default, else with sample's
// value for it, as compose would with a filled-in deploy/.env.
func interpolate(s string, sample map[string]string) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		p := interpolation.FindStringSubmatch(m)
		if v, ok := sample[p[1]]; ok {
			return v
		}
		if strings.HasSuffix(p[2], "-") {
			return p[3]
		}
		return "sample-" + strings.ToLower(p[1])
	})
}

// sample is a filled-in deploy/.env.
var sample = map[string]string{
	"GATEHOUSE_SECRET":  strings.Repeat("0123456789abcdef", 4),
	"POSTGRES_PASSWORD": strings.Repeat("ab", 32),
	"REDIS_PASSWORD":    strings.Repeat("cd", 32),
	"ACME_EMAIL":        "ops@example.com",
}

func TestComposeNodesShare(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	nodes := c.nodes(t)
	if len(nodes) < 2 {
		t.Fatalf("compose.yaml runs %d Gatehouse nodes (%v), want at least 2", len(nodes), nodes)
	}
	first := c.env(t, nodes[0])
	// What must be the same on every node, and what it must look like.
	for _, s := range []struct{ name, prefix string }{
		// A literal secret would be committed to git: it comes from .env.
		{"GATEHOUSE_SECRET", "${GATEHOUSE_SECRET:?"},
		{"GATEHOUSE_DATABASE_URL", "postgres://"},
		{"GATEHOUSE_REDIS_URL", "redis://"},
		{"GATEHOUSE_PUBLIC_URL", "https://"},
		{"GATEHOUSE_TRUSTED_PROXIES", ""},
	} {
		if !strings.HasPrefix(first[s.name], s.prefix) || first[s.name] == "" {
			t.Errorf("%s: %s = %q, want a value starting %q", nodes[0], s.name, first[s.name], s.prefix)
		}
		for _, n := range nodes[1:] {
			if v := c.env(t, n)[s.name]; v != first[s.name] {
				t.Errorf("%s differs between nodes: %s has %q, %s has %q", s.name, nodes[0], first[s.name], n, v)
			}
		}
	}
	// Every node is the same image and runs with the same settings.
	for _, n := range nodes[1:] {
		if !reflect.DeepEqual(c.env(t, n), first) || c.services[n]["image"] != c.services[nodes[0]]["image"] {
			t.Errorf("%s and %s are configured differently", nodes[0], n)
		}
	}

	// The database and Redis the URLs name are services of this file, on
	// a network every node shares with them, and their passwords are the
	// ones those services are given.
	db, err := url.Parse(interpolate(first["GATEHOUSE_DATABASE_URL"], sample))
	if err != nil {
		t.Fatalf("GATEHOUSE_DATABASE_URL: %v", err)
	}
	rd, err := url.Parse(interpolate(first["GATEHOUSE_REDIS_URL"], sample))
	if err != nil {
		t.Fatalf("GATEHOUSE_REDIS_URL: %v", err)
	}
	pgPass, _ := db.User.Password()
	if pg := c.env(t, db.Hostname()); interpolate(pg["POSTGRES_PASSWORD"], sample) != pgPass ||
		pg["POSTGRES_USER"] != db.User.Username() || "/"+pg["POSTGRES_DB"] != db.Path {
		t.Errorf("GATEHOUSE_DATABASE_URL (%s) does not match service %s's POSTGRES_USER, _PASSWORD and _DB", db.Redacted(), db.Hostname())
	}
	redisPass, _ := rd.User.Password()
	if cmd := strings.Join(strs(c.services[rd.Hostname()]["command"]), " "); !strings.Contains(interpolate(cmd, sample), "--requirepass "+redisPass) {
		t.Errorf("GATEHOUSE_REDIS_URL's password is not service %s's --requirepass (command: %s)", rd.Hostname(), cmd)
	}
	for _, backend := range []string{db.Hostname(), rd.Hostname()} {
		if c.services[backend] == nil {
			t.Errorf("the nodes' URLs name %s, which is not a service of compose.yaml", backend)
			continue
		}
		for _, n := range nodes {
			if !sharesNetwork(strs(c.services[n]["networks"]), strs(c.services[backend]["networks"])) {
				t.Errorf("%s and %s share no network", n, backend)
			}
		}
	}

	// Redis must not evict a live counter (docs/deploy.md says why).
	if cmd := strs(c.services[rd.Hostname()]["command"]); !slices.Contains(cmd, "noeviction") {
		t.Errorf("redis runs without --maxmemory-policy noeviction: %v", cmd)
	}

	// The settings are valid as a whole: the node's environment, filled
	// in as compose would, passes gatehouse.LoadConfig (which checks
	// every setting without connecting to anything).
	vars := map[string]string{}
	for k, v := range first {
		vars[k] = interpolate(v, sample)
	}
	if _, err := gatehouse.LoadConfig(vars); err != nil {
		t.Errorf("a node's settings do not load:\n%v", err)
	}
}

func sharesNetwork(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true // both on the default network
	}
	for _, n := range a {
		if slices.Contains(b, n) {
			return true
		}
	}
	return false
}

// TestComposeTrustsCaddy checks that the nodes believe X-Forwarded-For
// exactly from the network Caddy reaches them on.
func TestComposeTrustsCaddy(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	nodes := c.nodes(t)
	trusted := c.env(t, nodes[0])["GATEHOUSE_TRUSTED_PROXIES"]
	caddyNets := strs(c.services["caddy"]["networks"])
	if len(caddyNets) == 0 {
		t.Fatal("compose.yaml: caddy names no network")
	}
	for _, name := range caddyNets {
		n, _ := c.networks[name].(map[string]any)
		ipam, _ := n["ipam"].(map[string]any)
		configs, _ := ipam["config"].([]any)
		if len(configs) != 1 {
			t.Fatalf("network %s (Caddy's) must have one ipam subnet, the trusted range; has %v", name, configs)
		}
		subnet, _ := configs[0].(map[string]any)["subnet"].(string)
		if subnet != trusted {
			t.Errorf("GATEHOUSE_TRUSTED_PROXIES is %q, Caddy's network %s is %q", trusted, name, subnet)
		}
		if _, err := netip.ParsePrefix(subnet); err != nil {
			t.Errorf("network %s: %v", name, err)
		}
		for _, node := range nodes {
			if !slices.Contains(strs(c.services[node]["networks"]), name) {
				t.Errorf("%s is not on Caddy's network %s", node, name)
			}
		}
	}
	// Only Caddy is reachable from outside.
	for name, s := range c.services {
		if _, published := s["ports"]; published && name != "caddy" {
			t.Errorf("%s publishes ports; only caddy should", name)
		}
	}
}

// dockerfile returns the Dockerfile's instructions, continuation lines
// joined, comments dropped.
func dockerfile(t *testing.T) [][2]string {
	t.Helper()
	var out [][2]string
	var cur string
	for _, line := range strings.Split(read(t, "../Dockerfile"), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == "") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		op, args, _ := strings.Cut(cur, " ")
		out = append(out, [2]string{strings.ToUpper(op), strings.Join(strings.Fields(args), " ")})
		cur = ""
	}
	return out
}

func instructions(df [][2]string, op string) []string {
	var out []string
	for _, in := range df {
		if in[0] == op {
			out = append(out, in[1])
		}
	}
	return out
}

// TestDockerfileMatchesBuildScript checks that the image is made of what
// build-image.sh builds: the binary it compiles, where the Dockerfile
// copies it from and runs it, and every other file it copies.
func TestDockerfileMatchesBuildScript(t *testing.T) {
	t.Parallel()
	script := read(t, "build-image.sh")
	df := dockerfile(t)

	out := regexp.MustCompile(`(?m)go build .*(?:\n.*)*?-o (\S+) (\./cmd/gatehouse)\b`).FindStringSubmatch(script)
	if out == nil {
		t.Fatal("build-image.sh: no `go build … -o PATH ./cmd/gatehouse`")
	}
	binary := out[1]
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X github.com/gatehouse/gatehouse.Version=", "--format docker", "-f Dockerfile ."} {
		if !strings.Contains(script, want) {
			t.Errorf("build-image.sh lacks %q", want)
		}
	}
	_ = gatehouse.Version // the variable -X sets: renaming it breaks this line

	// The script makes every file the Dockerfile copies.
	dest := ""
	for _, cp := range instructions(df, "COPY") {
		f := strings.Fields(cp)
		src, dst := f[len(f)-2], f[len(f)-1]
		if !strings.HasPrefix(src, "dist/") {
			t.Errorf("Dockerfile copies %s, which is not under dist/ (the only folder .dockerignore lets through)", src)
		}
		made := src == binary ||
			strings.Contains(script, "dist/"+strings.Trim(strings.TrimPrefix(src, "dist/"), "/")) ||
			strings.Contains(script, strings.TrimSuffix(src, "/"))
		if !made {
			t.Errorf("Dockerfile copies %s, which build-image.sh does not make", src)
		}
		if src == binary {
			dest = dst
		}
	}
	if dest == "" {
		t.Fatalf("the Dockerfile does not copy %s (build-image.sh's output); its COPYs: %v", binary, instructions(df, "COPY"))
	}
	if ep := instructions(df, "ENTRYPOINT"); len(ep) != 1 || ep[0] != `["`+dest+`"]` {
		t.Errorf("ENTRYPOINT %v, want [%q]", ep, dest)
	}
	if cmd := instructions(df, "CMD"); len(cmd) != 1 || cmd[0] != `["serve"]` {
		t.Errorf("CMD %v, want [\"serve\"]", cmd)
	}
	hc := instructions(df, "HEALTHCHECK")
	if len(hc) != 1 || !strings.HasSuffix(hc[0], `CMD ["`+dest+`", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %v, want CMD [%q, \"healthcheck\"]", hc, dest)
	}
	if u := instructions(df, "USER"); len(u) != 1 || u[0] != "65532:65532" {
		t.Errorf("USER %v, want 65532:65532", u)
	}
	if from := instructions(df, "FROM"); len(from) != 1 || from[0] != "scratch" {
		t.Errorf("FROM %v, want scratch (nothing can be pulled here)", from)
	}
	ignore := read(t, "../.dockerignore")
	if !strings.Contains(ignore, "\n!dist/") {
		t.Errorf(".dockerignore does not let dist/ through:\n%s", ignore)
	}

	// The image's settings: every interface on the exposed port, the
	// SQLite file on the volume.
	env := map[string]string{}
	for _, e := range instructions(df, "ENV") {
		for _, kv := range strings.Fields(e) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	_, port, err := net.SplitHostPort(env["GATEHOUSE_ADDR"])
	if err != nil || !strings.HasPrefix(env["GATEHOUSE_ADDR"], ":") {
		t.Errorf("ENV GATEHOUSE_ADDR=%q, want :PORT (every interface of the container)", env["GATEHOUSE_ADDR"])
	}
	if exp := instructions(df, "EXPOSE"); len(exp) != 1 || exp[0] != port {
		t.Errorf("EXPOSE %v, want %s (GATEHOUSE_ADDR's port)", exp, port)
	}
	vol := instructions(df, "VOLUME")
	if len(vol) != 1 || !strings.HasPrefix(env["GATEHOUSE_DATABASE_URL"], "sqlite:"+strings.Trim(vol[0], `[]"`)+"/") {
		t.Errorf("ENV GATEHOUSE_DATABASE_URL=%q is not a file in VOLUME %v", env["GATEHOUSE_DATABASE_URL"], vol)
	}

	// compose.yaml runs the image the script tags, checks health with the
	// binary the image has, and Caddy reaches the nodes on its port.
	c := loadCompose(t)
	caddyfile := read(t, "Caddyfile")
	tag := regexp.MustCompile(`IMAGE=\$\{IMAGE:-([^}]+)\}`).FindStringSubmatch(script)
	for _, n := range c.nodes(t) {
		if img, _ := c.services[n]["image"].(string); tag == nil || !strings.HasPrefix(img, "${IMAGE:-"+tag[1]+"}:") {
			t.Errorf("%s runs image %q, not build-image.sh's %v", n, img, tag)
		}
		hc, _ := c.services[n]["healthcheck"].(map[string]any)
		if test := strs(hc["test"]); !slices.Equal(test, []string{"CMD", dest, "healthcheck"}) {
			t.Errorf("%s's healthcheck is %v, want [CMD %s healthcheck]", n, test, dest)
		}
		if _, ok := c.env(t, n)["GATEHOUSE_ADDR"]; ok {
			t.Errorf("%s sets GATEHOUSE_ADDR: the image's (:%s) is what Caddy and the health check expect", n, port)
		}
		if got := strings.Count(caddyfile, " "+n+":"+port); got != 2 {
			t.Errorf("Caddyfile names %s:%s %d times, want 2 (reverse_proxy and forward_auth)", n, port, got)
		}
	}
	for _, want := range []string{"uri /v1/check", "health_uri /readyz", "copy_headers X-Auth-User-Id X-Auth-Email X-Auth-Email-Verified X-Auth-Session-Id", "request_header -X-Auth-User-Id"} {
		if !strings.Contains(caddyfile, want) {
			t.Errorf("Caddyfile lacks %q", want)
		}
	}
}

// TestEnvExample checks that deploy/env.example lists every variable
// compose.yaml reads from .env, so a copy of it leaves none out.
func TestEnvExample(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	for _, line := range strings.Split(read(t, "env.example"), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			listed[k] = true
		}
	}
	for _, m := range interpolation.FindAllStringSubmatch(read(t, "compose.yaml"), -1) {
		if !listed[m[1]] {
			t.Errorf("compose.yaml reads ${%s}, which env.example does not list", m[1])
		}
	}
}

// TestSystemdUnit checks the unit's database is in the state directory
// systemd gives the service, the only place it may write.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit := read(t, "gatehouse.service")
	kv := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			kv[k] = append(kv[k], v)
		}
	}
	if exec := kv["ExecStart"]; len(exec) != 1 || !strings.HasSuffix(exec[0], "/gatehouse serve") {
		t.Errorf("ExecStart %v, want …/gatehouse serve", exec)
	}
	state := kv["StateDirectory"]
	if len(state) != 1 {
		t.Fatalf("StateDirectory %v, want one", state)
	}
	db := ""
	for _, e := range kv["Environment"] {
		if v, ok := strings.CutPrefix(e, "GATEHOUSE_DATABASE_URL="); ok {
			db = v
		}
	}
	if !strings.HasPrefix(db, "sqlite:/var/lib/"+state[0]+"/") {
		t.Errorf("GATEHOUSE_DATABASE_URL=%q is not in StateDirectory=%s (/var/lib/%s)", db, state[0], state[0])
	}
	for _, want := range []string{"User=gatehouse", "ProtectSystem=strict", "NoNewPrivileges=yes", "EnvironmentFile=/etc/gatehouse/gatehouse.env"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("gatehouse.service lacks %s", want)
		}
	}
}
