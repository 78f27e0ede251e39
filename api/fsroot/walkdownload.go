package fsroot

import "io/fs"

// WalkDownload walks fsys by the rules of a folder download, which a
// snapshot and a streamed ZIP share: the API's staging entries are left out
// and links are never followed; an entry that cannot be read, or is neither
// a folder nor a regular file (a pipe, socket, device), is handed to skip.
// dir gets every folder, the root "." first, with its information; file gets
// every regular file and opens and checks it itself. An error of the root,
// or one returned by dir or file, ends the walk and is returned.
func WalkDownload(fsys fs.FS, skip func(p string), dir func(p string, info fs.FileInfo) error, file func(p string) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			skip(p)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p != "." && IsReserved(d.Name()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			info, err := d.Info()
			if err != nil {
				skip(p)
				return fs.SkipDir
			}
			return dir(p, info)
		case d.Type().IsRegular():
			return file(p)
		case d.Type()&fs.ModeSymlink != 0:
			return nil // links are never followed
		default:
			skip(p)
			return nil
		}
	})
}
