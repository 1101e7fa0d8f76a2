package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/vend/awssts"
)

// squatConfig is a config for MinIO at endpoint with the given grants
// (YAML list items, indented by two spaces), which start on line 9.
func squatConfig(endpoint, grants string) string {
	return fmt.Sprintf(`hub:
  api_url: http://127.0.0.1:8081/hub/api
providers:
  minio:
    type: aws
    role_arn: arn:aws:iam::000000000000:role/hub-users
    sts_endpoint: %s
grants:
%s`, endpoint, grants)
}

const (
	scratchGrant = `  - name: scratch
    provider: minio
    bucket: hub-data
    prefix: "{user}/"
    access: readwrite
    allow: {users: ["*"]}
`
	teamsGrant = `  - name: teams
    provider: minio
    bucket: hub-data
    prefix: "teams/{group}/"
    access: readwrite
    allow: {groups: ["team-*"]}
`
)

// credserverCheck runs the real `credserver check` on a config.
func credserverCheck(t *testing.T, text string, args ...string) (int, string, string) {
	t.Helper()
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credserver.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if len(args) == 0 {
		args = []string{"check"}
	}
	cmd := exec.Command(filepath.Join(binDir, "credserver"), append(args, "-config", path)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// TestSquattingOnMinIO shows the hole on the real MinIO and that
// `credserver check` closes it: with "{user}/" and "teams/{group}/" in
// one bucket, a user named "teams" gets credentials (the session policy
// credserver makes, issued by MinIO's STS) that read a team's data, and
// check refuses that config — and its "{user}/" beside "datasets/" and
// "home/{user}/" cousins — naming both grants and their lines, while it
// accepts the fixed one and the declared one, which explain shows.
func TestSquattingOnMinIO(t *testing.T) {
	peers.Require(t, "minio")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	m, err := peers.StartMinIO(ctx, peers.MinIOOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("minio log:\n%s", m.LogTail())
		}
		m.Close()
	})
	if err := m.MakeBucket(ctx, "hub-data"); err != nil {
		t.Fatal(err)
	}
	const teamFile = "teams/team-a/plan.txt"
	if _, err := m.RootS3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("hub-data"), Key: aws.String(teamFile),
		Body: strings.NewReader("team-a's plan")}); err != nil {
		t.Fatal(err)
	}

	t.Run("the hole without the check", func(t *testing.T) {
		// Each grant alone is a valid config; together they are what
		// check refuses. Take the scratch grant's policy, as credserver
		// compiles it, for a user who chose the name "teams".
		cfg, err := config.Parse([]byte(squatConfig(m.Endpoint, scratchGrant)))
		if err != nil {
			t.Fatal(err)
		}
		pol, err := policy.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		read := func(user string) error {
			dec, err := pol.Decide(policy.User{Name: user}, policy.Request{Grant: "scratch"})
			if err != nil {
				t.Fatal(err)
			}
			doc, err := awssts.SessionPolicy(dec.Bucket, dec.Prefixes, dec.Access)
			if err != nil {
				t.Fatal(err)
			}
			out, err := sts.NewFromConfig(m.AWSConfig(), func(o *sts.Options) { o.BaseEndpoint = aws.String(m.Endpoint) }).
				AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/hub-users"),
					RoleSessionName: aws.String(awssts.SessionName(user)), Policy: aws.String(string(doc)), DurationSeconds: aws.Int32(900)})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Credentials
			cfg := m.AWSConfig()
			cfg.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
			client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(m.Endpoint), true })
			obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("hub-data"), Key: aws.String(teamFile)})
			if err != nil {
				return err
			}
			defer obj.Body.Close()
			b, _ := io.ReadAll(obj.Body)
			if string(b) != "team-a's plan" {
				t.Errorf("%s read %q", user, b)
			}
			return nil
		}
		var apiErr smithy.APIError
		if err := read("alice"); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
			t.Fatalf("alice reading %s: %v, want AccessDenied", teamFile, err)
		}
		if err := read("teams"); err != nil {
			t.Fatalf("user \"teams\" reading %s: %v; the hole should be real without the check", teamFile, err)
		}
	})

	refused := []struct{ name, other, otherName, why string }{
		{"teams", teamsGrant, "teams", `when a user is named "teams"`},
		{"datasets", "  - name: datasets\n    provider: minio\n    bucket: hub-data\n    prefix: \"datasets/\"\n    allow: {groups: [staff]}\n", "datasets", `when a user is named "datasets"`},
		{"homes", "  - name: homes\n    provider: minio\n    bucket: hub-data\n    prefix: \"home/{user}/\"\n    access: readwrite\n    allow: {users: [\"*\"]}\n", "homes", `when a user is named "home"`},
	}
	for _, tt := range refused {
		t.Run("check refuses "+tt.name, func(t *testing.T) {
			rc, out, errOut := credserverCheck(t, squatConfig(m.Endpoint, scratchGrant+tt.other))
			want := fmt.Sprintf(`line 15: grants[0] "scratch" (line 9) and grants[1] %q (line 15) can reach the same data`, tt.otherName)
			if rc != 1 || out != "" || !strings.Contains(errOut, want) || !strings.Contains(errOut, tt.why) ||
				!strings.Contains(errOut, "overlaps: [scratch]") {
				t.Errorf("credserver check: exit %d, stdout %q, stderr %q; want exit 1 and %q, %q", rc, out, errOut, want, tt.why)
			}
		})
	}

	t.Run("check accepts the fixed config", func(t *testing.T) {
		fixed := strings.Replace(scratchGrant, `"{user}/"`, `"users/{user}/"`, 1) + teamsGrant
		if rc, out, errOut := credserverCheck(t, squatConfig(m.Endpoint, fixed)); rc != 0 || !strings.Contains(out, ": ok") {
			t.Errorf("credserver check: exit %d, %q %q", rc, out, errOut)
		}
	})

	t.Run("a declared overlap is accepted and explained", func(t *testing.T) {
		declared := squatConfig(m.Endpoint, scratchGrant+teamsGrant+"    overlaps: [scratch]\n")
		if rc, out, errOut := credserverCheck(t, declared); rc != 0 {
			t.Fatalf("credserver check: exit %d, %q %q", rc, out, errOut)
		}
		rc, out, errOut := credserverCheck(t, declared, "explain", "-user", "teams", "-groups", "team-a")
		if rc != 0 || strings.Count(out, "  overlaps: ") != 2 || !strings.Contains(out, "overlaps: teams (declared") ||
			!strings.Contains(out, "overlaps: scratch (declared") {
			t.Errorf("credserver explain: exit %d, stderr %q, stdout:\n%s", rc, errOut, out)
		}
	})
}
