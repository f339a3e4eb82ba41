package serve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"
	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
)

// TestServeFlagErrors checks that every bad flag combination is refused
// with exit status 2 and one error in the house style, and that nothing
// else was printed before it: no generated account, no "serving" line, no
// warning.
func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A loopback port nothing listens on: a Redis that cannot be reached.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadRedis := "redis://" + ln.Addr().String() + "/0"
	ln.Close()
	// A Redis that could evict session keys (I14): refused at start-up.
	evicting := "redis://" + redistest.Start(t, "--maxmemory-policy", "allkeys-lru").Addr + "/0"

	cases := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"vulnerable on all interfaces", []string{"--vulnerable", "--addr", "0.0.0.0:0", "--store", "memory"}, `not on "0.0.0.0:0" (every interface)`},
		{"vulnerable with an empty host names the address", []string{"--vulnerable", "--addr", ":18991", "--store", "memory"}, `not on ":18991" (every interface)`},
		{"vulnerable on a LAN address", []string{"--vulnerable", "--addr", "192.0.2.1:80", "--store", "memory"}, `not on "192.0.2.1:80"`},
		{"bad account", []string{"--account", "nopassword", "--store", "memory"}, "want NAME:PASSWORD"},
		{"unknown store", []string{"--store", "foo"}, `unknown --store "foo"`},
		{"bad redis URL", []string{"--store", "redis://x:y:z"}, "--store redis://x:y:z"},
		{"redis not answering", []string{"--store", deadRedis}, "cannot reach Redis"},
		{"redis that evicts", []string{"--store", evicting}, `maxmemory-policy "allkeys-lru"`},
		{"tls half", []string{"--tls-cert", "x.pem"}, "--tls-cert and --tls-key go together"},
		{"tls files missing", []string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem", "--store", "memory"}, "--tls-cert/--tls-key"},
		{"tls files not PEM", []string{"--tls-cert", notPEM, "--tls-key", notPEM, "--store", "memory"}, "--tls-cert/--tls-key"},
		{"stray argument", []string{"--store", "memory", "extra"}, `unexpected argument "extra"`},
		{"baseline off loopback", []string{"--insecure-baseline-user", "alice", "--addr", "0.0.0.0:0"}, "loopback only"},
		{"bad address", []string{"--addr", "8080", "--store", "memory"}, `--addr "8080"`},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"grace without rotation", []string{"--rotate-grace", "1s", "--store", "memory"}, "--rotate-grace does nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			dropped := redisLog.dropped.Load()
			if code := Serve(context.Background(), c.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, errb.String())
			}
			if out.Len() != 0 {
				t.Errorf("printed before failing: %q", out.String())
			}
			lines := strings.Split(strings.TrimRight(errb.String(), "\n"), "\n")
			if !strings.HasPrefix(lines[0], "sessionguard: error: ") || !strings.Contains(lines[0], c.want) {
				t.Fatalf("want one error line with %q, got:\n%s", c.want, errb.String())
			}
			for _, l := range lines[1:] {
				if !strings.HasPrefix(l, "sessionguard: hint: ") {
					t.Errorf("more than the error and its hints on stderr: %q", l)
				}
			}
			if c.name == "redis not answering" && redisLog.dropped.Load() == dropped {
				t.Error("the Redis client's own log lines did not go through redisLog")
			}
		})
	}
}

// TestServeTLS serves over HTTPS from a certificate file pair, with HTTP/2,
// as a browser would connect.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb loopbacktest.SyncBuffer
	done := make(chan int)
	go func() {
		done <- Serve(ctx, []string{"--addr", "127.0.0.1:0", "--store", "memory", "--account", "a:b",
			"--tls-cert", certFile, "--tls-key", keyFile}, &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving the reference app") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	line := out.String()
	i := strings.Index(line, "https://")
	if i < 0 {
		t.Fatalf("not serving https: %s", line)
	}
	base := strings.TrimSuffix(strings.TrimSpace(line[i:]), "/")
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true} // our own certificate, on loopback
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("GET /login over TLS: %d %s", resp.StatusCode, resp.Proto)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key as PEM
// files in dir.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
