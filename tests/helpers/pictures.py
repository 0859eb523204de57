"""Pictures to upload as the widget's header picture: real files of each type we take,
and ones we refuse."""

import base64
import struct
import zlib


def png(rgb: tuple[int, int, int] = (220, 40, 40), size: int = 8) -> bytes:
    """A real PNG of one colour, `size` pixels square."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size  # filter byte, then the pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


# A lossless WebP of one pixel.
WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
# The start of a JPEG file (SOI, then a JFIF APP0 segment): what the check reads.
JPEG_START = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
