package credctl

import (
	"net/url"
	"strings"
)

// gdalEnv returns the variables GDAL's /vsis3/ (and so rasterio) reads for
// an S3-compatible store, and those to unset. GDAL ignores AWS_ENDPOINT_URL
// and, before 3.12, credential_process: it wants AWS_S3_ENDPOINT as
// host[:port], AWS_HTTPS YES or NO for the scheme, and path-style requests
// (AWS_VIRTUAL_HOSTING=FALSE), as MinIO and most Ceph RGW set-ups serve.
// For AWS itself (no endpoint) leftovers of an earlier eval are unset, so
// GDAL goes to AWS. An endpoint with a path GDAL cannot express sets
// none of the three. In every case CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE
// is YES: without it GDAL cannot write a GeoTIFF or COG to /vsis3/ at all
// (it stages the file locally, then uploads it).
func gdalEnv(endpoint string) (set [][2]string, unset []string) {
	write := [2]string{"CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE", "YES"}
	names := []string{"AWS_S3_ENDPOINT", "AWS_HTTPS", "AWS_VIRTUAL_HOSTING"}
	if endpoint == "" {
		return [][2]string{write}, names
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return [][2]string{write}, names
	}
	https := "YES"
	if u.Scheme == "http" {
		https = "NO"
	}
	return [][2]string{{"AWS_S3_ENDPOINT", u.Host}, {"AWS_HTTPS", https}, {"AWS_VIRTUAL_HOSTING", "FALSE"}, write}, nil
}
