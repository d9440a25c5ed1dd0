package httpauth_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpauth"
)

func TestQRPNG(t *testing.T) {
	t.Parallel()
	b, err := httpauth.QRPNG("otpauth://totp/Gatehouse:ada@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
		t.Fatalf("not a 256×256 PNG: %v", err)
	}
	if _, err := httpauth.QRPNG("%zz"); err == nil {
		t.Error("a malformed URL made a QR code")
	}
}
