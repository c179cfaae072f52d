#!/usr/bin/env python3
"""Writes packaging/qmlbridge.svg and packaging/qmlbridge.png (256x256) from one geometry.

The app icon: a rounded blue square with a white check mark and two list lines. Both files are
committed; rerun this script only to change the icon. Pure Python (zlib + struct): no image
tooling is needed to build the AppImage.
"""
import math
import os
import struct
import zlib

SIZE = 256
RADIUS = 48
BG = (46, 107, 216)
FG = (255, 255, 255)
CHECK = [(64, 104), (104, 144), (192, 56)]  # polyline, stroke width 24, round caps
LINES = [((64, 184), (192, 184)), ((64, 218), (152, 218))]  # stroke width 16, round caps
CHECK_W = 24
LINE_W = 16

HERE = os.path.dirname(os.path.abspath(__file__))


def svg():
    pts = " ".join(f"{x},{y}" for x, y in CHECK)
    lines = "\n".join(
        f'  <line x1="{a[0]}" y1="{a[1]}" x2="{b[0]}" y2="{b[1]}" stroke="#fff" '
        f'stroke-width="{LINE_W}" stroke-linecap="round"/>'
        for a, b in LINES
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">
  <rect width="{SIZE}" height="{SIZE}" rx="{RADIUS}" fill="#{BG[0]:02x}{BG[1]:02x}{BG[2]:02x}"/>
  <polyline points="{pts}" fill="none" stroke="#fff" stroke-width="{CHECK_W}"
            stroke-linecap="round" stroke-linejoin="round"/>
{lines}
</svg>
"""


def seg_dist(px, py, a, b):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def in_rounded_square(x, y):
    cx = min(max(x, RADIUS), SIZE - RADIUS)
    cy = min(max(y, RADIUS), SIZE - RADIUS)
    return math.hypot(x - cx, y - cy) <= RADIUS


def in_foreground(x, y):
    segs = [(CHECK[i], CHECK[i + 1], CHECK_W) for i in range(len(CHECK) - 1)]
    segs += [(a, b, LINE_W) for a, b in LINES]
    return any(seg_dist(x, y, a, b) <= w / 2 for a, b, w in segs)


def png(ss=4):
    rows = []
    for y in range(SIZE):
        row = bytearray([0])  # filter type 0
        for x in range(SIZE):
            bg = fg = 0
            for sy in range(ss):
                for sx in range(ss):
                    px, py = x + (sx + 0.5) / ss, y + (sy + 0.5) / ss
                    if in_rounded_square(px, py):
                        if in_foreground(px, py):
                            fg += 1
                        else:
                            bg += 1
            n = ss * ss
            alpha = (bg + fg) / n
            if alpha == 0:
                row += bytes(4)
                continue
            mix = fg / (bg + fg)
            rgb = [round(BG[i] + (FG[i] - BG[i]) * mix) for i in range(3)]
            row += bytes(rgb + [round(alpha * 255)])
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    with open(os.path.join(HERE, "qmlbridge.svg"), "w", encoding="utf-8") as f:
        f.write(svg())
    with open(os.path.join(HERE, "qmlbridge.png"), "wb") as f:
        f.write(png())
