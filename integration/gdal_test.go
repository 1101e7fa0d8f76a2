package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/testenv/peers"
)

// gdalScript writes a Cloud-Optimized GeoTIFF into the user's prefix with
// GDAL's /vsis3/, reads it back, and tries another user's prefix, all with
// nothing but eval "$(credctl get scratch --format env)": GDAL 3.6 (Debian
// 12) runs no credential_process and reads AWS_S3_ENDPOINT, AWS_HTTPS and
// AWS_VIRTUAL_HOSTING on S3-compatible stores. $1 is the other user's
// prefix, $2 the raster's size. Each step prints a marker line the test
// checks.
const gdalScript = `
set -u
eval "$(credctl get scratch --format env)" || exit 10
here="/vsis3/${SCRATCH_BUCKET#s3://}"
gdal_create -of GTiff -outsize "$2" "$2" -bands 1 -burn 7 -a_srs EPSG:4326 -a_ullr 0 10 10 0 in.tif >/dev/null || exit 11
if gdal_translate -q -of COG in.tif "$here/cog.tif"; then echo "WRITE-OWN ok"; else echo "WRITE-OWN failed"; fi
if gdalinfo "$here/cog.tif" > info.txt 2>&1; then echo "READ-OWN ok"; grep -E "LAYOUT=COG|Size is" info.txt; else echo "READ-OWN failed"; cat info.txt; fi
# GDAL 3.6 stages the file and uploads it at close, and exits 0 even when
# the upload is refused: the error and the object itself tell.
gdal_translate -q -of COG in.tif "/vsis3/hub-scratch/$1/cog.tif" 2> other.err
if grep -q "^ERROR.*PUT of /vsis3/hub-scratch/$1/cog.tif failed" other.err; then echo "WRITE-OTHER refused"; else echo "WRITE-OTHER ok"; cat other.err; fi
if gdalinfo "/vsis3/hub-scratch/$1/cog.tif" >/dev/null 2>&1; then echo "READ-OTHER ok"; else echo "READ-OTHER refused"; fi
`

// TestGDALCloudOptimizedGeoTIFF: the geoscience path. GDAL (and so
// rasterio) writes and reads a COG inside alice's prefix on MinIO, and is
// refused bob's, both ways; bob's own COG exists, so the refusal is about
// access, not a missing object.
func TestGDALCloudOptimizedGeoTIFF(t *testing.T) {
	peers.Require(t, "gdal_translate", "gdalinfo", "gdal_create")
	s := sharedStack(t)
	credctl := credctlPath(t)
	run := func(user, script string, args ...string) string {
		nb, err := s.NewNotebook(user, t.TempDir(), filepath.Dir(credctl))
		if err != nil {
			t.Fatal(err)
		}
		out, errOut, code, err := nb.Run("", "/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
		if err != nil || code != 0 {
			t.Fatalf("%s: exit %d %v\n%s%s", user, code, err, out, errOut)
		}
		return out
	}
	bob := run("bob", gdalScript, "nobody", "256")
	if !strings.Contains(bob, "WRITE-OWN ok") || !strings.Contains(bob, "Size is 256, 256") {
		t.Fatalf("bob could not write his own COG:\n%s", bob)
	}
	alice := run("alice", gdalScript, "bob", "512")
	for _, want := range []string{"WRITE-OWN ok", "READ-OWN ok", "LAYOUT=COG", "Size is 512, 512", "WRITE-OTHER refused", "READ-OTHER refused"} {
		if !strings.Contains(alice, want) {
			t.Errorf("alice's GDAL run lacks %q:\n%s", want, alice)
		}
	}
	// bob's COG is still his 256x256 one.
	const info = `eval "$(credctl get scratch --format env)" && gdalinfo "/vsis3/${SCRATCH_BUCKET#s3://}/cog.tif"`
	if again := run("bob", info); !strings.Contains(again, "Size is 256, 256") {
		t.Errorf("bob's COG changed:\n%s", again)
	}
}
