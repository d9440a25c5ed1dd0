package gatehouse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/verify"
)

// TestBasePath: with a public URL that has a path, the handler answers
// under that path only, as the URLs it hands out say (the issuer, the
// discovery document, the sign-in page of the check and of the guards);
// the probes also answer at the root, where a load balancer or
// `gatehouse healthcheck` asks.
func TestBasePath(t *testing.T) {
	t.Parallel()
	const public = gatehousetest.PublicURL + "/auth"
	srv := gatehousetest.Start(t, gatehousetest.WithConfig(func(c *gatehouse.Config) {
		c.PublicURL = public + "/"
		c.ForwardAuthRedirect = true
	}))
	if got := srv.Config.BasePath(); got != "/auth" {
		t.Fatalf("BasePath() = %q", got)
	}
	html := gatehousetest.Header("Accept", "text/html")
	for _, tc := range []struct {
		method, path string
		opts         []gatehousetest.RequestOption
		status       int
		location     string
	}{
		{"GET", "/auth/login", []gatehousetest.RequestOption{html}, http.StatusOK, ""},
		{"GET", "/auth/static/style.css", nil, http.StatusOK, ""},
		{"GET", "/auth/.well-known/jwks.json", nil, http.StatusOK, ""},
		{"GET", "/auth/healthz", nil, http.StatusOK, ""},
		{"GET", "/healthz", nil, http.StatusOK, ""},
		{"GET", "/readyz", nil, http.StatusOK, ""},
		{"GET", "/auth", nil, http.StatusMovedPermanently, "/auth/"},
		{"GET", "/auth?x=1", nil, http.StatusMovedPermanently, "/auth/?x=1"},
		{"POST", "/auth", nil, http.StatusNotFound, ""},
		{"GET", "/auth/v1/check", []gatehousetest.RequestOption{html, gatehousetest.Header("X-Forwarded-Uri", "/x"), gatehousetest.Header("X-Forwarded-Host", "app.example.test"), gatehousetest.Header("X-Forwarded-Proto", "https")}, http.StatusFound, ""},
		{"GET", "/login", []gatehousetest.RequestOption{html}, http.StatusNotFound, ""},
		{"GET", "/v1/check", nil, http.StatusNotFound, ""},
		{"GET", "/.well-known/jwks.json", nil, http.StatusNotFound, ""},
		{"GET", "/authx/login", nil, http.StatusNotFound, ""},
		{"GET", "/static/style.css", nil, http.StatusNotFound, ""},
		{"GET", "/other/auth/login", nil, http.StatusNotFound, ""},
	} {
		r := srv.Do(t, tc.method, tc.path, nil, tc.opts...)
		if r.Status != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, r.Status, tc.status)
			continue
		}
		loc := r.Header.Get("Location")
		switch {
		case tc.location != "" && loc != tc.location:
			t.Errorf("%s %s: Location %q, want %q", tc.method, tc.path, loc, tc.location)
		case tc.status == http.StatusFound && (len(loc) < len(public+"/login?") || loc[:len(public+"/login?")] != public+"/login?"):
			t.Errorf("%s %s: Location %q, want the sign-in page under the prefix", tc.method, tc.path, loc)
		}
	}

	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(srv.Do(t, "GET", "/auth/.well-known/openid-configuration", nil).Want(http.StatusOK).Body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != public || doc.JWKSURI != public+"/.well-known/jwks.json" {
		t.Errorf("discovery: issuer %q, jwks_uri %q; want them under %s", doc.Issuer, doc.JWKSURI, public)
	}
}

// TestVerifyUnderBasePath: a service behind Gatehouse mounted under a path
// discovers its keys from the issuer, path and all, and accepts its
// tokens (package verify reads <issuer>/.well-known/openid-configuration).
func TestVerifyUnderBasePath(t *testing.T) {
	t.Parallel()
	srv := gatehousetest.Start(t, gatehousetest.OwnPublicURL(), gatehousetest.WithConfig(func(c *gatehouse.Config) {
		c.PublicURL += "/auth"
	}))
	ctx := context.Background()
	v, err := verify.New(ctx, srv.Config.PublicURL, verify.WithClock(srv.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	const addr = "ada@example.test"
	u, err := srv.G.Auth().SignUp(ctx, auth.SignUpInput{Email: addr, Password: gatehousetest.Password, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	srv.Do(t, "POST", "/auth/v1/token", map[string]string{"grant_type": "password", "email": addr, "password": gatehousetest.Password}).Want(http.StatusOK).Decode(&tok)
	c, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.Subject != u.ID {
		t.Errorf("claims: subject %q, want %q", c.Subject, u.ID)
	}
}
