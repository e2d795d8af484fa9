package shards

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
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

// s3Server is a versitygw process (posix backend in a temp dir, TLS on loopback with a
// certificate made by the test).
type s3Server struct {
	t         testing.TB
	bin       string
	addr      string
	dataDir   string
	certFile  string
	keyFile   string
	cmd       *exec.Cmd
	logFile   *os.File
	accessKey string
	secretKey string
}

func versitygwPath(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	missing(t, "versitygw (scripts/deps.d/50-shards.sh installs it with go install)")
	return ""
}

// writeCert makes a self-signed ECDSA certificate for 127.0.0.1.
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
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startS3 starts versitygw and creates bucket "test"; it is stopped at the end of the test.
func startS3(t testing.TB) *s3Server {
	t.Helper()
	dir := t.TempDir()
	s := &s3Server{t: t, bin: versitygwPath(t), addr: freePort(t), dataDir: filepath.Join(dir, "data"),
		accessKey: "eosintest", secretKey: "eosintest-secret-key"}
	os.MkdirAll(s.dataDir, 0o755)
	os.MkdirAll(filepath.Join(dir, "sidecar"), 0o755)
	s.certFile, s.keyFile = writeCert(t, dir)
	lf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.logFile = lf
	s.start()
	t.Cleanup(func() {
		s.stop()
		lf.Close()
	})
	cl := s.client()
	if err := cl.MakeBucket(context.Background(), "test", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v\n%s", err, s.log())
	}
	return s
}

func (s *s3Server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", s.addr, "--cert", s.certFile, "--key", s.keyFile, "--quiet",
		"posix", "--sidecar", filepath.Join(filepath.Dir(s.dataDir), "sidecar"), s.dataDir)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.accessKey, "ROOT_SECRET_KEY="+s.secretKey)
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	s.t.Fatalf("versitygw did not listen on %s:\n%s", s.addr, s.log())
}

// stop kills the server process (by its pid) and waits for it.
func (s *s3Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *s3Server) log() string {
	b, _ := os.ReadFile(s.logFile.Name())
	return string(b)
}

func (s *s3Server) config() storage.S3Config {
	return storage.S3Config{Endpoint: "https://" + s.addr, Region: "us-east-1", CABundle: s.certFile,
		AccessKey: s.accessKey, SecretKey: s.secretKey, PartSize: 5 << 20, MaxRetries: 2}
}

func (s *s3Server) client() *minio.Client {
	s.t.Helper()
	cl, err := storage.NewS3Client(s.config())
	if err != nil {
		s.t.Fatal(err)
	}
	return cl
}

func (s *s3Server) prefix(p string) string { return fmt.Sprintf("s3://test/%s", p) }
