# Writes pil_resize.json: SHA-256 of PIL's bicubic resize of deterministic RGB patterns, the
# golden for ResizeBicubic. Run with Debian's python3-pil: /usr/bin/python3 pil_resize.py
import hashlib, json
from PIL import Image

def pattern(w, h):
    b = bytearray()
    for y in range(h):
        for x in range(w):
            b += bytes(((x * 7 + y * 13) % 256, (x * x + 3 * y) % 256, ((x ^ y) * 5) % 256))
    return Image.frombytes("RGB", (w, h), bytes(b))

cases = [(28, 28, 56, 56), (384, 384, 392, 392), (300, 100, 308, 112), (200, 30, 196, 28),
         (1500, 1000, 756, 504), (57, 31, 112, 56), (64, 64, 28, 28)]
out = []
for w, h, tw, th in cases:
    r = pattern(w, h).resize((tw, th), resample=Image.BICUBIC)
    out.append({"w": w, "h": h, "tw": tw, "th": th, "sha256": hashlib.sha256(r.tobytes()).hexdigest(),
                "first": list(r.tobytes()[:12])})
with open("pil_resize.json", "w") as f:
    json.dump({"pil": Image.__version__ if hasattr(Image, "__version__") else "", "cases": out}, f, indent=1)
