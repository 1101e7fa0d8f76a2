// Package docs holds no code: its tests hold the documents in this
// directory and the repository's README to the code. reference_test.go
// checks docs/reference.md against the OpenAPI spec, the config struct,
// credctl's help and the registered metrics; links_test.go that no
// document points outside the repository; console_test.go runs every shell
// block of the README and the guides against a local stack.
package docs
