package httpauth

import (
	"bytes"
	"fmt"
	"image/png"

	"github.com/pquerna/otp"
)

// QRPNG returns an authenticator's otpauth URL as a 256×256 PNG QR code
// (pquerna/otp's encoder), for the API's set-up response and the account page.
func QRPNG(otpauthURL string) ([]byte, error) {
	key, err := otp.NewKeyFromURL(otpauthURL)
	if err != nil {
		return nil, fmt.Errorf("parse otpauth url: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, fmt.Errorf("qr image: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode qr png: %w", err)
	}
	return buf.Bytes(), nil
}
