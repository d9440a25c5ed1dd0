// Command embed is an application that serves Gatehouse from its own
// process: Gatehouse's API and pages (sign-up, sign-in, account) at the
// root, and the application's own pages: /app/ for signed-in users,
// /app/secure/ for sessions signed in with a second factor, /app/admin/
// for administrators who signed in with one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gatehouse/gatehouse"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	data := flag.String("data", "embed-data", "folder of the SQLite database (and, in dev mode, the generated secret)")
	prefix := flag.String("prefix", "", `path to mount Gatehouse under, such as "/auth" (the root of the host when empty)`)
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	cfg := gatehouse.DefaultConfig()
	// Dev mode: a secret generated beside the database, codes and links
	// printed on the console, cookies without Secure on http://localhost.
	// In production set cfg.Secret (GATEHOUSE_SECRET) and a mail URL, and
	// serve over https.
	cfg.Dev = true
	// The public URL's path is where Gatehouse is mounted: its pages,
	// links and redirects all carry it.
	cfg.PublicURL = "http://" + *addr + *prefix
	cfg.DatabaseURL = "sqlite:" + *data + "/gatehouse.db"
	g, err := gatehouse.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()

	mux := http.NewServeMux()
	// Gatehouse answers /v1/..., /.well-known/..., /login, /signup and its
	// other pages under its public URL's path: at the root, or, with
	// -prefix /auth, at /auth/login and so on (it strips the prefix
	// itself, so no http.StripPrefix).
	mux.Handle(cfg.BasePath()+"/", g.Handler())
	// RequireAuth lets through requests with the session cookie (signed in
	// at /login) or a Bearer access token. A browser without a session is
	// sent to /login and back; an API client gets a 401 problem.
	mux.Handle("/app/", g.RequireAuth(http.HandlerFunc(hello)))
	// RequireAAL2 also needs the session to have been signed in with a
	// second factor; others get 403 (a page saying what to do, or a
	// problem).
	mux.Handle("/app/secure/", g.RequireAAL2(http.HandlerFunc(hello)))
	// RequireRole needs a role; wrapped in RequireAAL2, a second factor
	// too.
	mux.Handle("/app/admin/", g.RequireAAL2(g.RequireRole(gatehouse.RoleAdmin, http.HandlerFunc(hello))))

	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("sign in at %s/login, then visit http://%s/app/", cfg.PublicURL, *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// hello is the application: it knows who is signed in without asking.
func hello(w http.ResponseWriter, r *http.Request) {
	u, ok := gatehouse.UserFrom(r.Context())
	if !ok {
		http.Error(w, "not signed in", http.StatusUnauthorized) // the guards stop such requests first
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Hello %s (user %s, session %s, %s, roles %q).\n", u.Email, u.ID, u.SessionID, u.AAL, u.Roles)
}
