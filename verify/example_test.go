package verify_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

// A service behind Gatehouse protects its API with Middleware and reads
// who is calling with ClaimsFrom.
func Example() {
	ctx := context.Background()
	v, err := verify.New(ctx, "https://auth.example.com",
		// Optional: refuse a token within a minute of its session ending.
		verify.WithRevocationCheck(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/api/", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s (user %s, %s)\n", c.Email, c.Subject, c.AAL)
	})))
	log.Fatal(http.ListenAndServe(":4000", nil))
}

// Verify checks one token, for code that does not sit behind Middleware
// (a message consumer, a gRPC interceptor).
func ExampleVerifier_Verify() {
	ctx := context.Background()
	v, err := verify.New(ctx, "https://auth.example.com")
	if err != nil {
		log.Fatal(err)
	}
	var token string // from the caller
	c, err := v.Verify(ctx, token)
	if err != nil {
		log.Printf("refused: %v", err) // errors.Is(err, verify.ErrExpired): refresh and retry
		return
	}
	fmt.Println(c.Subject, c.SessionID)
}
