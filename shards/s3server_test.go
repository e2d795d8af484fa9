package shards

import (
	"fmt"
	"testing"

	"github.com/eosinlab/eosin/internal/s3test"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/minio/minio-go/v7"
)

// s3Server is the versitygw test server (package s3test) with bucket "test".
type s3Server struct {
	*s3test.Server
	t testing.TB
}

// startS3 starts versitygw and creates bucket "test"; it is stopped at the end of the test.
func startS3(t testing.TB) *s3Server {
	t.Helper()
	s := &s3Server{Server: s3test.Start(t), t: t}
	s.MakeBucket("test")
	return s
}

// config is the client configuration the tests use: small parts, few retries.
func (s *s3Server) config() storage.S3Config {
	c := s.Config()
	c.PartSize, c.MaxRetries = 5<<20, 2
	return c
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
