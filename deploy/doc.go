// Package deploy holds no code: this folder has the files that deploy
// Gatehouse (compose.yaml, Caddyfile, gatehouse.service, env.example,
// build-image.sh; the Dockerfile is at the repository's root), and the
// package's tests check them against the code, so that they name only
// settings that exist and agree with one another. docs/deploy.md
// explains them.
package deploy
