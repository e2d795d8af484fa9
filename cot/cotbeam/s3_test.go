package cotbeam

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

// startS3 runs versitygw (an S3-compatible server; scripts/deps.d/50-shards.sh installs it)
// over a temp directory, TLS on loopback with a certificate made here, creates bucket "test",
// and returns the settings workers use; the credentials go into the environment, as on real
// workers. The server is killed at the end of the test.
func startS3(t *testing.T) S3Settings {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(out)), "bin", "versitygw")
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("versitygw missing (scripts/deps.d/50-shards.sh installs it)")
			}
			t.Skip("versitygw missing (scripts/deps.d/50-shards.sh installs it)")
		}
	}
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "eosin test S3"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.MkdirAll(filepath.Join(dir, "sidecar"), 0o755)
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", addr, "--cert", certFile, "--key", keyFile, "--quiet",
		"posix", "--sidecar", filepath.Join(dir, "sidecar"), filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY=eosintest", "ROOT_SECRET_KEY=eosintest-secret-key")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "eosintest")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "eosintest-secret-key")
	t.Setenv("AWS_ENDPOINT_URL_S3", "https://"+addr) // for readers given no settings
	t.Setenv("AWS_CA_BUNDLE", certFile)
	t.Setenv("AWS_REGION", "us-east-1")
	s3 := S3Settings{Endpoint: "https://" + addr, Region: "us-east-1", CABundle: certFile}
	cl, err := storage.NewS3Client(s3.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.MakeBucket(context.Background(), "test", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return s3
}

// TestBeamOnS3: figures, output and the response cache all in an S3 bucket. A second run
// with a fresh model server is answered from the cache in the bucket alone, which is what lets
// remote workers share one cache.
func TestBeamOnS3(t *testing.T) {
	s3 := startS3(t)
	ctx := context.Background()
	root := t.TempDir()
	ex := filepath.Join(root, "extract")
	writeExtractDir(t, ex, testFigures(6, "garbage"))
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	cfg := Config{Pairs: ex, Out: "s3://test/cot", Version: "s1", S3: s3, SamplesPerShard: 10, Gen: testGen(fm.URL(), "s3://test/cache")}
	sum, err := Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SFT == 0 || sum.Requested != sum.SFT+sum.Rejects || fm.Requests.Load() == 0 {
		t.Fatalf("summary %+v", sum)
	}
	st, err := storage.Open(ctx, "s3://test/cache", s3.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dirs, err := st.List(ctx, "")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("cache in the bucket: %v %v", dirs, err)
	}

	fm2 := newFakeModel(testTimeout)
	defer fm2.Close()
	cfg.Version, cfg.Gen = "s2", testGen(fm2.URL(), "s3://test/cache")
	sum2, err := Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fm2.Requests.Load() != 0 || sum2.Client.CacheHits != sum2.Client.Requests || sum2.SFT != sum.SFT || sum2.RL != sum.RL {
		t.Errorf("second run: %d server requests, summary %+v (first %+v)", fm2.Requests.Load(), sum2, sum)
	}
	// Both versions in the bucket verify and hold the same samples.
	a, _ := readDataset(t, "s3://test/cot/sft@s1")
	b, _ := readDataset(t, "s3://test/cot/sft@s2")
	if len(a) != sum.SFT || len(b) != len(a) {
		t.Errorf("sft in the bucket: %d and %d samples, summary %d", len(a), len(b), sum.SFT)
	}
}
