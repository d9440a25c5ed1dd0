package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const publicURL = "https://auth.example.com"

// appleKeyPEM makes a key like the .p8 file Apple gives.
func appleKeyPEM(t testing.TB) (string, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), k
}

func TestLoadConfigs(t *testing.T) {
	t.Parallel()
	keyPEM, _ := appleKeyPEM(t)
	keyFile := filepath.Join(t.TempDir(), "AuthKey.p8")
	if err := os.WriteFile(keyFile, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID":        "g-id",
		"GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET":    "g-secret",
		"GATEHOUSE_OAUTH_GOOGLE_CLIENT_IDS":       "ios-id, android-id",
		"GATEHOUSE_OAUTH_GITHUB_CLIENT_ID":        "gh-id",
		"GATEHOUSE_OAUTH_GITHUB_CLIENT_SECRET":    "gh-secret",
		"GATEHOUSE_OAUTH_GITHUB_LABEL":            "GitHub Enterprise",
		"GATEHOUSE_OAUTH_MICROSOFT_CLIENT_ID":     "ms-id",
		"GATEHOUSE_OAUTH_MICROSOFT_CLIENT_SECRET": "ms-secret",
		"GATEHOUSE_OAUTH_APPLE_CLIENT_ID":         "com.example.web",
		"GATEHOUSE_OAUTH_APPLE_TEAM_ID":           "TEAM123456",
		"GATEHOUSE_OAUTH_APPLE_KEY_ID":            "KEY1234567",
		"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY_FILE":  keyFile,
		"GATEHOUSE_OAUTH_GITLAB_CLIENT_ID":        "gl-id",
		"GATEHOUSE_OAUTH_GITLAB_CLIENT_SECRET":    "gl-secret",
		"GATEHOUSE_OAUTH_GITLAB_ISSUER":           "https://gitlab.example.com/",
		"GATEHOUSE_OAUTH_MY_IDP_CLIENT_ID":        "idp-id",
		"GATEHOUSE_OAUTH_MY_IDP_CLIENT_SECRET":    "idp-secret",
		"GATEHOUSE_OAUTH_MY_IDP_ISSUER":           "https://idp.example.com",
		"GATEHOUSE_OAUTH_MY_IDP_SCOPES":           "groups offline_access,groups",
		"GATEHOUSE_PUBLIC_URL":                    "ignored: not a provider setting",
		"HOME":                                    "/root",
	}
	cfgs, err := LoadConfigs(vars, publicURL+"/")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cfgs {
		names = append(names, c.Name)
		if want := publicURL + "/v1/oauth/" + c.Name + "/callback"; c.RedirectURI != want {
			t.Errorf("%s: redirect URI %q, want %q", c.Name, c.RedirectURI, want)
		}
	}
	if got := strings.Join(names, " "); got != "apple github gitlab google microsoft my_idp" {
		t.Fatalf("providers %q, want them all, sorted", got)
	}
	byName := map[string]Config{}
	for _, c := range cfgs {
		byName[c.Name] = c
	}
	for name, label := range map[string]string{"apple": "Apple", "github": "GitHub Enterprise", "gitlab": "GitLab", "google": "Google", "microsoft": "Microsoft", "my_idp": "My_idp"} {
		if byName[name].Label != label {
			t.Errorf("%s: label %q, want %q", name, byName[name].Label, label)
		}
	}
	if c := byName["google"]; strings.Join(c.ClientIDs, ",") != "ios-id,android-id" {
		t.Errorf("google client IDs %q", c.ClientIDs)
	}
	if c := byName["microsoft"]; c.Tenant != "common" {
		t.Errorf("microsoft tenant %q, want common by default", c.Tenant)
	}
	if c := byName["apple"]; c.AppleKey == nil || c.AppleTeamID != "TEAM123456" || c.AppleKeyID != "KEY1234567" {
		t.Errorf("apple: %+v", c)
	}
	if c := byName["gitlab"]; c.Issuer != "https://gitlab.example.com" {
		t.Errorf("gitlab issuer %q", c.Issuer)
	}
	if c := byName["my_idp"]; strings.Join(c.Scopes, " ") != "groups offline_access" {
		t.Errorf("my_idp scopes %q", c.Scopes)
	}

	// The Apple key pasted into one variable, newlines as \n.
	cfgs, err = LoadConfigs(map[string]string{
		"GATEHOUSE_OAUTH_APPLE_CLIENT_ID":   "com.example.web",
		"GATEHOUSE_OAUTH_APPLE_TEAM_ID":     "TEAM123456",
		"GATEHOUSE_OAUTH_APPLE_KEY_ID":      "KEY1234567",
		"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY": strings.ReplaceAll(keyPEM, "\n", `\n`),
	}, publicURL)
	if err != nil || len(cfgs) != 1 || cfgs[0].AppleKey == nil {
		t.Fatalf("apple key inline: %v %+v", err, cfgs)
	}

	if cfgs, err := LoadConfigs(map[string]string{"HOME": "/root"}, ""); err != nil || len(cfgs) != 0 {
		t.Fatalf("no providers: %v %v", cfgs, err)
	}
}

// TestLoadConfigsErrors: a provider set up half-way fails start-up with a
// line naming the variable and what is missing.
func TestLoadConfigsErrors(t *testing.T) {
	t.Parallel()
	keyPEM, _ := appleKeyPEM(t)
	rsaPEM := "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n"
	apple := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"GATEHOUSE_OAUTH_APPLE_CLIENT_ID": "com.example.web", "GATEHOUSE_OAUTH_APPLE_TEAM_ID": "T",
			"GATEHOUSE_OAUTH_APPLE_KEY_ID": "K", "GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY": keyPEM,
		}
		for k, v := range extra {
			if v == "-" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name string
		vars map[string]string
		want []string // each a line of the error
	}{
		{"id without secret", map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "x"},
			[]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET: missing"}},
		{"secret without id", map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "x"},
			[]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID: missing: GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET is set"}},
		{"generic without issuer", map[string]string{"GATEHOUSE_OAUTH_ACME_CLIENT_ID": "x", "GATEHOUSE_OAUTH_ACME_CLIENT_SECRET": "y"},
			[]string{"GATEHOUSE_OAUTH_ACME_ISSUER: missing"}},
		{"issuer over plain http", map[string]string{"GATEHOUSE_OAUTH_ACME_CLIENT_ID": "x", "GATEHOUSE_OAUTH_ACME_CLIENT_SECRET": "y", "GATEHOUSE_OAUTH_ACME_ISSUER": "http://idp.example.com"},
			[]string{"GATEHOUSE_OAUTH_ACME_ISSUER: must be https"}},
		{"issuer on google", map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "x", "GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "y", "GATEHOUSE_OAUTH_GOOGLE_ISSUER": "https://evil.example"},
			[]string{"GATEHOUSE_OAUTH_GOOGLE_ISSUER: only GitLab"}},
		{"tenant not microsoft", map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "x", "GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "y", "GATEHOUSE_OAUTH_GOOGLE_TENANT": "common"},
			[]string{"GATEHOUSE_OAUTH_GOOGLE_TENANT: only microsoft"}},
		{"bad tenant", map[string]string{"GATEHOUSE_OAUTH_MICROSOFT_CLIENT_ID": "x", "GATEHOUSE_OAUTH_MICROSOFT_CLIENT_SECRET": "y", "GATEHOUSE_OAUTH_MICROSOFT_TENANT": "contoso.com"},
			[]string{"GATEHOUSE_OAUTH_MICROSOFT_TENANT: must be common, organizations, consumers or a tenant ID"}},
		{"typo in a setting", map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENTID": "x"},
			[]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENTID: not a provider setting"}},
		{"lower-case name", map[string]string{"GATEHOUSE_OAUTH_Acme_CLIENT_ID": "x"},
			[]string{"GATEHOUSE_OAUTH_Acme_CLIENT_ID: the provider's name must be"}},
		{"name with a dash", map[string]string{"GATEHOUSE_OAUTH_MY-IDP_CLIENT_ID": "x"},
			[]string{"GATEHOUSE_OAUTH_MY-IDP_CLIENT_ID: the provider's name must be"}},
		{"github native ids", map[string]string{"GATEHOUSE_OAUTH_GITHUB_CLIENT_ID": "x", "GATEHOUSE_OAUTH_GITHUB_CLIENT_SECRET": "y", "GATEHOUSE_OAUTH_GITHUB_CLIENT_IDS": "z"},
			[]string{"GATEHOUSE_OAUTH_GITHUB_CLIENT_IDS: GitHub issues no ID tokens"}},
		{"apple without team", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_TEAM_ID": "-"}),
			[]string{"GATEHOUSE_OAUTH_APPLE_TEAM_ID: missing"}},
		{"apple without key id", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_KEY_ID": "-"}),
			[]string{"GATEHOUSE_OAUTH_APPLE_KEY_ID: missing"}},
		{"apple without key", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY": "-"}),
			[]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY: missing"}},
		{"apple with a secret", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_CLIENT_SECRET": "s"}),
			[]string{"GATEHOUSE_OAUTH_APPLE_CLIENT_SECRET: Apple's client secret is signed from the key"}},
		{"apple key not PEM", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY": "abc"}),
			[]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY: not a PEM key"}},
		{"apple key not EC", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY": rsaPEM}),
			[]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY: not a PKCS #8 private key"}},
		{"apple key file missing", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY": "-", "GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY_FILE": "/nonexistent/AuthKey.p8"}),
			[]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY_FILE: cannot be read"}},
		{"apple key twice", apple(map[string]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY_FILE": "/nonexistent/AuthKey.p8"}),
			[]string{"GATEHOUSE_OAUTH_APPLE_PRIVATE_KEY_FILE: set _PRIVATE_KEY or _PRIVATE_KEY_FILE, not both"}},
		{"apple key on google", map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "x", "GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "y", "GATEHOUSE_OAUTH_GOOGLE_PRIVATE_KEY": keyPEM},
			[]string{"GATEHOUSE_OAUTH_GOOGLE_PRIVATE_KEY: only apple"}},
		{"every problem at once", map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "x", "GATEHOUSE_OAUTH_ACME_CLIENT_ID": "x"},
			[]string{"GATEHOUSE_OAUTH_ACME_CLIENT_SECRET: missing", "GATEHOUSE_OAUTH_ACME_ISSUER: missing", "GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET: missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfgs, err := LoadConfigs(tt.vars, publicURL)
			if err == nil {
				t.Fatalf("no error; providers %+v", cfgs)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("error lines %q, want %d", lines, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("line %d %q, want it to start %q", i, lines[i], want)
				}
			}
		})
	}
	if _, err := LoadConfigs(map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "x", "GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "y"}, ""); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_PUBLIC_URL:") {
		t.Errorf("no public URL: %v", err)
	}
}
