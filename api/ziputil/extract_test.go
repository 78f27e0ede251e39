package ziputil

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// unbounded is Extract's maxBytes for the tests that are not about it.
const unbounded int64 = math.MaxInt64

// siteArchive builds an archive like a web site's: folders of small files
// (text, deflated) and some larger incompressible ones (stored), listed
// folder by folder. It returns the archive and the expected contents.
func siteArchive(t testing.TB, folders, filesPer int) (*zip.Reader, map[string][]byte) {
	t.Helper()
	src := rand.NewChaCha8([32]byte{1})
	rng := rand.New(src)
	want := map[string][]byte{}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for d := range folders {
		dir := fmt.Sprintf("wwwroot/area%02d/", d)
		if d%2 == 0 {
			// Half the folders have an entry of their own, as zip -r writes.
			_, err := zw.CreateHeader(&zip.FileHeader{Name: dir, Method: zip.Store})
			must.NoError(t, err)
		}
		for f := range filesPer {
			name := fmt.Sprintf("%sfile%03d.txt", dir, f)
			body := bytes.Repeat([]byte(name+" "), 20+rng.IntN(400))
			method := zip.Deflate
			if f%10 == 0 {
				name = fmt.Sprintf("%sblob%03d.bin", dir, f)
				body = make([]byte, 64<<10+rng.IntN(64<<10))
				_, _ = src.Read(body)
				method = zip.Store
			}
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: time.Unix(1700000000, 0)})
			must.NoError(t, err)
			_, err = w.Write(body)
			must.NoError(t, err)
			want[name] = body
		}
	}
	must.NoError(t, zw.Close())
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	must.NoError(t, err)
	return zr, want
}

func openStage(t testing.TB) (string, *os.Root) {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	must.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	return dir, root
}

func TestExtract_Workers(t *testing.T) {
	t.Parallel()
	zr, want := siteArchive(t, 12, 45)
	var total int64
	for _, body := range want {
		total += int64(len(body))
	}
	for _, workers := range []int{1, 2, 7} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			dir, root := openStage(t)
			n, err := extract(context.Background(), zr, root, unbounded, workers)
			must.NoError(t, err)
			must.EqOp(t, total, n)
			got := 0
			err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				body, err := os.ReadFile(p)
				must.NoError(t, err)
				must.True(t, bytes.Equal(want[filepath.ToSlash(rel)], body), must.Sprintf("content of %s", rel))
				fi, err := d.Info()
				must.NoError(t, err)
				must.True(t, fi.ModTime().Equal(time.Unix(1700000000, 0)), must.Sprintf("mtime of %s", rel))
				got++
				return nil
			})
			must.NoError(t, err)
			must.EqOp(t, len(want), got)
		})
	}
}

func TestExtract_FirstErrorStopsTheWorkers(t *testing.T) {
	t.Parallel()
	// Many good files, then one whose data is longer than declared.
	entries := []entry{}
	for i := range 200 {
		entries = append(entries, entry{name: fmt.Sprintf("d%d/f%03d.txt", i%5, i), body: "fine"})
	}
	entries = append(entries, entry{name: "d9/bad.txt", body: "0123456789", declared: 3})
	for i := range 50 {
		entries = append(entries, entry{name: fmt.Sprintf("e/f%03d.txt", i), body: "after"})
	}
	zr := build(t, entries...)
	_, err := Validate(zr, Limits{})
	must.NoError(t, err)
	_, root := openStage(t)
	_, err = extract(context.Background(), zr, root, unbounded, 4)
	var ze *Error
	must.True(t, errors.As(err, &ze), must.Sprintf("err = %v", err))
	must.EqOp(t, "d9/bad.txt", ze.Entry)
}

func TestExtract_Cancelled(t *testing.T) {
	t.Parallel()
	zr, _ := siteArchive(t, 2, 5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir, root := openStage(t)
	_, err := extract(ctx, zr, root, unbounded, 3)
	must.ErrorIs(t, err, context.Canceled)
	names, err := os.ReadDir(dir)
	must.NoError(t, err)
	must.SliceEmpty(t, names, must.Sprint("nothing is written once cancelled"))
}

// BenchmarkExtract extracts a site of 1,200 files in 24 folders (about
// 18 MiB) with one worker and with the default count; compare the two
// lines of one run (go test -bench Extract -count 5 ./api/ziputil). Every
// iteration extracts into a new folder under TMPDIR, removed at the end of
// its sub-benchmark. On an ext4 without a journal, creating files shortly
// after thousands were deleted is slow whoever does it (the allocator skips
// inodes freed in the last minutes, one by one), so the later lines of a
// long run on such a disk measure that; TMPDIR on tmpfs measures the
// extraction alone.
func BenchmarkExtract(b *testing.B) {
	zr, want := siteArchive(b, 24, 50)
	var total int64
	for _, body := range want {
		total += int64(len(body))
	}
	for _, workers := range []int{1, extractWorkers()} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				root, err := os.OpenRoot(dir)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := extract(context.Background(), zr, root, unbounded, workers); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = root.Close()
				b.StartTimer()
			}
		})
	}
}

// TestExtract_BoundsWrittenBytes: Extract counts the bytes it writes against
// the archive's real size times the ratio, whatever the sizes the archive
// declares, and refuses the entry that would pass it.
func TestExtract_BoundsWrittenBytes(t *testing.T) {
	t.Parallel()
	zeros := make([]byte, 4<<20)
	cases := []struct {
		name    string
		archive func(t *testing.T) []byte
		refused string // the entry refused, "" when the archive fits
	}{
		{"compressed size declared larger than the data", func(t *testing.T) []byte {
			// 4 MiB of zeros deflate to a few KiB, but the entry declares
			// 1 MiB compressed: a ratio of 4 for Validate.
			var comp bytes.Buffer
			fw, err := flate.NewWriter(&comp, flate.BestCompression)
			must.NoError(t, err)
			_, err = fw.Write(zeros)
			must.NoError(t, err)
			must.NoError(t, fw.Close())
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, err := zw.CreateRaw(&zip.FileHeader{Name: "zeros.bin", Method: zip.Deflate,
				CRC32: crc32.ChecksumIEEE(zeros), CompressedSize64: 1 << 20, UncompressedSize64: uint64(len(zeros))})
			must.NoError(t, err)
			_, err = w.Write(comp.Bytes())
			must.NoError(t, err)
			must.NoError(t, zw.Close())
			return buf.Bytes()
		}, "zeros.bin"},
		{"entries sharing one stream", func(t *testing.T) []byte {
			return sharedDataZip(t, 10, zeros[:1<<20])
		}, "f0"},
		{"an honest archive", func(t *testing.T) []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, err := zw.Create("zeros.bin")
			must.NoError(t, err)
			_, err = w.Write(zeros[:RatioFloorBytes])
			must.NoError(t, err)
			must.NoError(t, zw.Close())
			return buf.Bytes()
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.archive(t)
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			must.NoError(t, err)
			limit := Limits{}.MaxExtracted(int64(len(data)))
			_, root := openStage(t)
			written, err := Extract(context.Background(), zr, root, limit)
			must.LessEq(t, limit, written)
			if tc.refused == "" {
				must.NoError(t, err)
				return
			}
			var ze *Error
			must.True(t, errors.As(err, &ze), must.Sprintf("wrote %d bytes of an archive of %d: err = %v", written, len(data), err))
			must.True(t, ze.TooLarge, must.Sprintf("err = %v", err))
			must.StrHasPrefix(t, tc.refused, ze.Entry)
		})
	}
}

func TestLimits_MaxExtracted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		limits  Limits
		archive int64
		want    int64
	}{
		{Limits{}, 0, RatioFloorBytes},
		{Limits{}, 1000, RatioFloorBytes},
		{Limits{}, 1 << 20, DefaultMaxRatio << 20},
		{Limits{}, 1 << 40, DefaultMaxTotalBytes},
		{Limits{MaxRatio: 10, MaxTotalBytes: 1 << 50}, 1 << 30, 10 << 30},
		{Limits{MaxTotalBytes: 1000}, 1 << 20, 1000},
		{Limits{MaxTotalBytes: math.MaxUint64}, math.MaxInt64, math.MaxInt64},
	}
	for _, tc := range cases {
		must.EqOp(t, tc.want, tc.limits.MaxExtracted(tc.archive), must.Sprintf("%+v of %d bytes", tc.limits, tc.archive))
	}
}
