package oauth

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// envPrefix starts every provider setting: GATEHOUSE_OAUTH_<NAME>_<SETTING>.
const envPrefix = "GATEHOUSE_OAUTH_"

// The settings a provider takes, longest first so that a name ending in a
// setting's word (a provider called "x_key") still parses: the longest
// setting that ends the variable wins.
var settings = func() []string {
	s := []string{"CLIENT_ID", "CLIENT_SECRET", "CLIENT_IDS", "LABEL", "SCOPES", "ISSUER",
		"TENANT", "TEAM_ID", "KEY_ID", "PRIVATE_KEY", "PRIVATE_KEY_FILE", "STORE_TOKENS"}
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	return s
}()

var (
	nameRE = regexp.MustCompile(`^[a-z0-9_]+$`)
	// A Microsoft tenant ID is a GUID. A tenant's domain name would discover
	// an issuer spelled with the GUID, which then never matches.
	tenantRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// Config is one provider as the environment sets it up. LoadConfigs returns
// them; New turns one into a Provider.
type Config struct {
	// Name is the provider's name in the environment and in URLs, lower
	// case [a-z0-9_]: "google", "github", "my_idp".
	Name string
	// Label names its button ("Continue with {Label}").
	Label string
	// ClientID and ClientSecret are what the provider issued to us. Apple
	// has no fixed secret: it is signed from AppleKey for each exchange.
	ClientID     string
	ClientSecret string
	// ClientIDs are more audiences accepted for ID tokens the provider's
	// own SDK issued to our native apps (the id_token grant).
	ClientIDs []string
	// Scopes are asked for on top of the provider's defaults.
	Scopes []string
	// Issuer is the OpenID Connect issuer: required for a generic
	// provider, optional for GitLab (self-hosted), unused otherwise.
	Issuer string
	// Tenant is Microsoft's: common, organizations, consumers or a tenant
	// ID.
	Tenant string
	// AppleTeamID, AppleKeyID and AppleKey sign Apple's client secret.
	AppleTeamID string
	AppleKeyID  string
	AppleKey    *ecdsa.PrivateKey
	// RedirectURI is {publicURL}/v1/oauth/{name}/callback, to register
	// with the provider.
	RedirectURI string
	// StoreTokens asks for the provider's access and refresh tokens to be
	// kept (sealed) after each browser sign-in, for an app that calls the
	// provider's API for the user; off, none is kept. On, the provider is
	// also asked for a refresh token where it needs asking (Google's
	// access_type=offline, Microsoft's offline_access scope).
	StoreTokens bool
}

// ConfigError is one problem with a provider's settings, naming the
// variable so start-up fails with one clear line.
type ConfigError struct {
	Var     string
	Problem string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Problem }

// builtinLabels are the button names of the built-in providers.
var builtinLabels = map[string]string{
	"google": "Google", "github": "GitHub", "microsoft": "Microsoft", "apple": "Apple", "gitlab": "GitLab",
}

// LoadConfigs reads every provider from vars (variable name → value, the
// environment as the root LoadConfig takes it) and returns them sorted by
// name, or every problem at once (errors.Join of *ConfigError, one line
// each). A provider is on when its _CLIENT_ID is set; a setting of a
// provider with no _CLIENT_ID is an error rather than ignored, as it is
// most likely a typo in the ID's name. publicURL is the server's public
// URL, the redirect URIs' base.
func LoadConfigs(vars map[string]string, publicURL string) ([]Config, error) {
	byName := map[string]map[string]string{}
	varOf := func(name, setting string) string { return envPrefix + strings.ToUpper(name) + "_" + setting }
	var errs []error
	for k, v := range vars {
		rest, ok := strings.CutPrefix(k, envPrefix)
		if !ok {
			continue
		}
		var upper, setting string
		for _, s := range settings {
			if n, ok := strings.CutSuffix(rest, "_"+s); ok && n != "" {
				upper, setting = n, s
				break
			}
		}
		if setting == "" {
			errs = append(errs, &ConfigError{k, "not a provider setting (GATEHOUSE_OAUTH_<NAME>_CLIENT_ID, _CLIENT_SECRET, _LABEL, _SCOPES, _ISSUER, _CLIENT_IDS, _TENANT, _TEAM_ID, _KEY_ID, _PRIVATE_KEY, _PRIVATE_KEY_FILE, _STORE_TOKENS)"})
			continue
		}
		name := strings.ToLower(upper)
		if upper != strings.ToUpper(name) || !nameRE.MatchString(name) {
			errs = append(errs, &ConfigError{k, "the provider's name must be letters, digits and _ (upper case in the variable)"})
			continue
		}
		if byName[name] == nil {
			byName[name] = map[string]string{}
		}
		byName[name][setting] = strings.TrimSpace(v)
	}
	base, err := url.Parse(strings.TrimSpace(publicURL))
	if len(byName) > 0 && (err != nil || base.Scheme == "" || base.Host == "") {
		errs = append(errs, &ConfigError{"GATEHOUSE_PUBLIC_URL", "providers need the public URL to build their callback URL"})
	}
	var out []Config
	for name, s := range byName {
		c, cerrs := configOf(name, s, varOf)
		errs = append(errs, cerrs...)
		if len(cerrs) == 0 {
			c.RedirectURI = strings.TrimSuffix(strings.TrimSpace(publicURL), "/") + "/v1/oauth/" + name + "/callback"
			out = append(out, c)
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errors.Join(errs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// configOf checks one provider's settings: what its kind requires, and
// nothing its kind would ignore (a setting ignored in silence is a
// misconfiguration found in production).
func configOf(name string, s map[string]string, varOf func(name, setting string) string) (Config, []error) {
	var errs []error
	bad := func(setting, problem string) { errs = append(errs, &ConfigError{varOf(name, setting), problem}) }
	c := Config{
		Name: name, Label: s["LABEL"], ClientID: s["CLIENT_ID"], ClientSecret: s["CLIENT_SECRET"],
		Issuer: strings.TrimSuffix(s["ISSUER"], "/"), Tenant: s["TENANT"],
		AppleTeamID: s["TEAM_ID"], AppleKeyID: s["KEY_ID"],
	}
	if c.ClientID == "" {
		for setting := range s {
			if setting != "CLIENT_ID" {
				bad("CLIENT_ID", "missing: "+varOf(name, setting)+" is set, and a provider is on only with its client ID")
				return c, errs
			}
		}
		bad("CLIENT_ID", "empty")
		return c, errs
	}
	if c.Label == "" {
		c.Label = builtinLabels[name]
		if c.Label == "" {
			c.Label = strings.ToUpper(name[:1]) + name[1:]
		}
	}
	c.Scopes = splitList(s["SCOPES"], " ,")
	switch v, set := s["STORE_TOKENS"]; {
	case !set, v == "false":
	case v == "true":
		c.StoreTokens = true
	default:
		bad("STORE_TOKENS", "must be true or false")
	}
	c.ClientIDs = splitList(s["CLIENT_IDS"], ",")
	only := func(setting string, names ...string) {
		if _, set := s[setting]; set && !slices.Contains(names, name) {
			bad(setting, "only "+strings.Join(names, " and ")+" take this setting")
		}
	}
	only("TENANT", "microsoft")
	only("TEAM_ID", "apple")
	only("KEY_ID", "apple")
	only("PRIVATE_KEY", "apple")
	only("PRIVATE_KEY_FILE", "apple")
	if _, set := s["ISSUER"]; set && builtinLabels[name] != "" && name != "gitlab" {
		bad("ISSUER", "only GitLab (self-hosted) and providers that are not built in take an issuer")
	}
	if name == "github" && len(c.ClientIDs) > 0 {
		bad("CLIENT_IDS", "GitHub issues no ID tokens, so there is nothing for native client IDs to accept")
	}
	if name == "apple" {
		if c.ClientSecret != "" {
			bad("CLIENT_SECRET", "Apple's client secret is signed from the key: set _TEAM_ID, _KEY_ID and _PRIVATE_KEY (or _PRIVATE_KEY_FILE) instead")
		}
		if c.AppleTeamID == "" {
			bad("TEAM_ID", "missing: Apple's client secret is signed with the team ID")
		}
		if c.AppleKeyID == "" {
			bad("KEY_ID", "missing: Apple's client secret names the key's ID")
		}
		pemText, fromFile := s["PRIVATE_KEY"], false
		if file := s["PRIVATE_KEY_FILE"]; file != "" {
			if pemText != "" {
				bad("PRIVATE_KEY_FILE", "set _PRIVATE_KEY or _PRIVATE_KEY_FILE, not both")
				return c, errs
			}
			b, err := os.ReadFile(file)
			if err != nil {
				bad("PRIVATE_KEY_FILE", "cannot be read: "+err.Error())
				return c, errs
			}
			pemText, fromFile = string(b), true
		}
		setting := "PRIVATE_KEY"
		if fromFile {
			setting = "PRIVATE_KEY_FILE"
		}
		if pemText == "" && !fromFile {
			bad("PRIVATE_KEY", "missing: Apple's client secret is signed with the key from Apple (PEM, or _PRIVATE_KEY_FILE)")
		} else if pemText != "" {
			key, err := parseAppleKey(pemText)
			if err != nil {
				bad(setting, err.Error())
			}
			c.AppleKey = key
		}
	} else if c.ClientSecret == "" {
		bad("CLIENT_SECRET", "missing: "+varOf(name, "CLIENT_ID")+" is set, and the provider needs its secret too")
	}
	if name == "microsoft" {
		switch {
		case c.Tenant == "":
			c.Tenant = "common"
		case c.Tenant == "common", c.Tenant == "organizations", c.Tenant == "consumers", tenantRE.MatchString(c.Tenant):
		default:
			bad("TENANT", "must be common, organizations, consumers or a tenant ID (a GUID)")
		}
	}
	if builtinLabels[name] == "" && c.Issuer == "" {
		bad("ISSUER", "missing: "+name+" is not a built-in provider, so it is OpenID Connect with discovery from its issuer")
	}
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer); err != nil {
			bad("ISSUER", err.Error())
		}
	}
	return c, errs
}

// checkIssuer accepts an https URL, or http on a loopback host (a provider
// run locally, and the tests' fakes): discovery over plain http elsewhere
// would let the network choose the keys that sign ID tokens.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be a URL like https://idp.example.com (no query or fragment)")
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return errors.New("must be https (http only on localhost)")
}

// parseAppleKey reads the .p8 key Apple gives: a PKCS #8 PEM of a P-256
// key.
func parseAppleKey(text string) (*ecdsa.PrivateKey, error) {
	// A key pasted into one environment variable often has its newlines
	// written as \n.
	text = strings.ReplaceAll(text, `\n`, "\n")
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("not a PEM key (-----BEGIN PRIVATE KEY----- ...)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if ek, err2 := x509.ParseECPrivateKey(block.Bytes); err2 == nil {
			k = ek
		} else {
			return nil, fmt.Errorf("not a PKCS #8 private key: %v", err)
		}
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve.Params().Name != "P-256" {
		return nil, errors.New("not an ES256 (P-256) key, the kind Apple gives")
	}
	return ek, nil
}

func splitList(s, seps string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
