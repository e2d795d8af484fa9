package cotbeam

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/eosinlab/eosin/internal/s3test"
	"github.com/eosinlab/eosin/shards/storage"
)

// startS3 starts the versitygw test server (package s3test) with bucket "test" and returns
// the settings workers use; the credentials go into the environment, as on real workers.
func startS3(t *testing.T) S3Settings {
	t.Helper()
	srv := s3test.Start(t)
	srv.MakeBucket("test")
	srv.SetEnv()
	return S3Settings{Endpoint: "https://" + srv.Addr, Region: s3test.Region, CABundle: srv.CertFile}
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
