// Command verify is a service behind Gatehouse: it checks the access tokens
// its clients send with package verify, which fetches Gatehouse's public
// keys and checks each token locally, and imports nothing else of
// Gatehouse (no database driver).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:3000", "Gatehouse's public URL (GATEHOUSE_PUBLIC_URL)")
	addr := flag.String("addr", "localhost:4000", "address to listen on")
	check := flag.Duration("revocation-check", 0, "when set, ask Gatehouse at most this often per token whether its session still stands")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []verify.Option
	if *check > 0 {
		opts = append(opts, verify.WithRevocationCheck(*check))
	}
	v, err := verify.New(ctx, *issuer, opts...)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /whoami", v.Middleware(http.HandlerFunc(whoami)))

	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("checking tokens of %s; try: curl -H 'Authorization: Bearer …' http://%s/whoami", *issuer, *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// whoami returns the claims of the caller's token.
func whoami(w http.ResponseWriter, r *http.Request) {
	c, _ := verify.ClaimsFrom(r.Context()) // Middleware let only good tokens through
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"user_id":    c.Subject,
		"email":      c.Email,
		"session_id": c.SessionID,
		"aal":        c.AAL,
		"amr":        c.AMR,
		"expires_at": c.Expiry,
	})
}
