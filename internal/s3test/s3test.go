// Package s3test runs a real S3-compatible server for tests: versitygw (scripts/deps.d/
// 50-shards.sh installs it with go install) with its posix backend in a temporary directory,
// TLS on loopback with a certificate made for the test. It is imported by tests only.
package s3test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards/storage"
	"github.com/minio/minio-go/v7"
)

// The server's root credentials and region.
const (
	AccessKey = "eosintest"
	SecretKey = "eosintest-secret-key"
	Region    = "us-east-1"
)

// Server is a running versitygw process.
type Server struct {
	// Addr is the server's host:port on loopback; its endpoint is "https://" + Addr.
	Addr string
	// CertFile is the PEM certificate the server presents (a CA bundle for clients).
	CertFile string

	t       testing.TB
	bin     string
	dir     string
	keyFile string
	cmd     *exec.Cmd
	logFile *os.File
}

// Start starts a server that is stopped when the test ends. Without versitygw the test is
// skipped, or fails when the environment variable CI is set.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: binary(t), dir: t.TempDir()}
	for _, d := range []string{"data", "sidecar"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.CertFile, s.keyFile = writeCert(t, s.dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	if s.logFile, err = os.Create(filepath.Join(s.dir, "versitygw.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		s.logFile.Close()
	})
	s.Restart()
	return s
}

func binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	const msg = "versitygw missing (scripts/deps.d/50-shards.sh installs it with go install)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Restart starts the server process again after Stop (the data directory is kept); Start
// calls it once. It returns when the server accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", s.Addr, "--cert", s.CertFile, "--key", s.keyFile, "--quiet",
		"posix", "--sidecar", filepath.Join(s.dir, "sidecar"), filepath.Join(s.dir, "data"))
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	s.t.Fatalf("versitygw did not listen on %s:\n%s", s.Addr, s.Log())
}

// Stop kills the server process and waits for it.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	s.cmd = nil
}

// Log is what the server has logged.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logFile.Name())
	return string(b)
}

// Config is the storage configuration of a client of the server, credentials included.
func (s *Server) Config() storage.S3Config {
	return storage.S3Config{Endpoint: "https://" + s.Addr, Region: Region, CABundle: s.CertFile,
		AccessKey: AccessKey, SecretKey: SecretKey}
}

// MakeBucket creates a bucket.
func (s *Server) MakeBucket(name string) {
	s.t.Helper()
	cl, err := storage.NewS3Client(s.Config())
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cl.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		s.t.Fatalf("make bucket %s: %v\n%s", name, err, s.Log())
	}
}

// SetEnv points the standard AWS environment variables (credentials, region, endpoint and
// CA bundle) at the server for the rest of the test, as a worker's environment would.
func (s *Server) SetEnv() {
	s.t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	s.t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	s.t.Setenv("AWS_REGION", Region)
	s.t.Setenv("AWS_ENDPOINT_URL_S3", "https://"+s.Addr)
	s.t.Setenv("AWS_CA_BUNDLE", s.CertFile)
}

// writeCert makes a self-signed ECDSA certificate for 127.0.0.1 and localhost.
func writeCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "eosin test S3"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// Pid is the server process's id (0 when stopped), for measuring its CPU time.
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
