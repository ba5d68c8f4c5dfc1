#!/usr/bin/env python3
"""A folder of PNG/JPEG images → an images .npy and a labels .npy for `snn evaluate`.

    python3 scripts/images_to_npy.py FOLDER IMAGES.npy LABELS.npy [--labels-csv FILE]
        [--mode L|RGB] [--size WxH] [--layout nhwc|nchw]
    snn evaluate --model DIR --labels LABELS.npy < IMAGES.npy

Labels: `--labels-csv FILE` with one `filename,label` line per image (filename relative to FOLDER;
a first line whose label is not an integer is a header and skipped), images in the CSV's order.
Without a CSV, one subfolder per class (FOLDER/<class>/<image>), images in the sorted order of
their paths; classes are numbered in sorted order, or by their names when all are integers.

Images: `--mode L` (default) converts to one grey channel, shape N×H×W; `--mode RGB` gives
N×H×W×3 (`--layout nhwc`, default) or N×3×H×W (`--layout nchw`). Every image must have the
size of the first unless `--size WxH` resizes them all (bilinear). Pixels are uint8 (`|u1`),
labels int64 (`<i8`); the arrays are written image by image, so memory does not grow with N.

Pillow comes from PyPI into a private venv on first use ($SNN_IMAGES_VENV, default
/tmp/snn-images-venv), like plot.py does for matplotlib.
"""
import argparse, csv, os, struct, sys

VENV = os.environ.get("SNN_IMAGES_VENV", "/tmp/snn-images-venv")
EXTENSIONS = (".png", ".jpg", ".jpeg")


def fail(message):
    sys.exit(f"images_to_npy: error: {message}")


def npy_header(descr, shape):
    """Version 1.0 header as numpy writes it: the dict, spaces and a newline to a multiple of 64."""
    dims = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, dims)
    text += " " * ((-(10 + len(text) + 1)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def list_images(folder, labels_csv):
    """[(path, label)] in output order."""
    if labels_csv:
        items = []
        with open(labels_csv, newline="") as f:
            for n, row in enumerate(csv.reader(f), start=1):
                if not row or not "".join(row).strip():
                    continue
                if len(row) != 2:
                    fail(f"{labels_csv}:{n}: expected 'filename,label', got {len(row)} fields")
                name, label = row[0].strip(), row[1].strip()
                try:
                    value = int(label)
                except ValueError:
                    if n == 1:
                        continue  # a header line
                    fail(f"{labels_csv}:{n}: label '{label}' is not an integer")
                if value < 0:
                    fail(f"{labels_csv}:{n}: label {value} is negative")
                path = os.path.join(folder, name)
                if not os.path.isfile(path):
                    fail(f"{labels_csv}:{n}: {path}: no such file")
                items.append((path, value))
        return items
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        fail(f"{folder}: no class subfolders (give --labels-csv FILE for a flat folder)")
    if all(c.isdigit() for c in classes):
        number = {c: int(c) for c in classes}
    else:
        number = {c: i for i, c in enumerate(classes)}
        print("classes: " + ", ".join(f"{i} = {c}" for c, i in number.items()), file=sys.stderr)
    items = []
    for c in classes:
        for root, _, files in sorted(os.walk(os.path.join(folder, c))):
            for name in sorted(files):
                if name.lower().endswith(EXTENSIONS):
                    items.append((os.path.join(root, name), number[c]))
    return sorted(items, key=lambda item: item[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("images", help="output images .npy")
    p.add_argument("labels", help="output labels .npy")
    p.add_argument("--labels-csv", help="filename,label lines (else: one subfolder per class)")
    p.add_argument("--mode", choices=["L", "RGB"], default="L")
    p.add_argument("--size", help="resize every image to WxH")
    p.add_argument("--layout", choices=["nhwc", "nchw"], default="nhwc")
    args = p.parse_args()
    size = None
    if args.size:
        try:
            size = tuple(int(v) for v in args.size.lower().split("x"))
            assert len(size) == 2 and min(size) > 0
        except (ValueError, AssertionError):
            fail(f"--size '{args.size}' is not WxH (e.g. 28x28)")
    if not os.path.isdir(args.folder):
        fail(f"{args.folder}: not a folder")
    items = list_images(args.folder, args.labels_csv)
    if not items:
        fail(f"{args.folder}: no PNG or JPEG images")

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from private_venv import ensure
    ensure("PIL", ["pillow"], VENV, __file__)
    from PIL import Image

    def load(path):
        try:
            with Image.open(path) as im:
                im = im.convert(args.mode)
                return im.resize(size, Image.BILINEAR) if size else im.copy()
        except OSError as e:
            fail(f"{path}: cannot read the image ({e})")

    first = load(items[0][0])
    w, h = first.size
    c = 3 if args.mode == "RGB" else 1
    shape = [len(items), h, w] if c == 1 else ([len(items), h, w, c] if args.layout == "nhwc" else [len(items), c, h, w])
    tmp_images, tmp_labels = args.images + ".tmp", args.labels + ".tmp"
    with open(tmp_images, "wb") as out:
        out.write(npy_header("|u1", shape))
        for path, _ in items:
            im = first if path == items[0][0] else load(path)
            if im.size != (w, h):
                fail(f"{path}: image is {im.size[0]}x{im.size[1]}, the first is {w}x{h} (pass --size WxH to resize)")
            data = im.tobytes()  # H×W×C, row-major
            if c == 3 and args.layout == "nchw":
                data = b"".join(data[k::3] for k in range(3))
            out.write(data)
    with open(tmp_labels, "wb") as out:
        out.write(npy_header("<i8", [len(items)]))
        out.write(struct.pack("<%dq" % len(items), *(label for _, label in items)))
    os.replace(tmp_images, args.images)
    os.replace(tmp_labels, args.labels)
    print(f"{len(items)} images, shape {tuple(shape)}, labels {sorted(set(l for _, l in items))}", file=sys.stderr)


if __name__ == "__main__":
    main()
