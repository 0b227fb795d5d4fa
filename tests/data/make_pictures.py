"""Writes tests/data/pictures: small labelled pictures in every format and mode the loader meets."""
from pathlib import Path

import numpy as np
from PIL import Image

root = Path("tests/data/pictures")
rng = np.random.default_rng(7)

def smooth(h, w):
    # smooth colour fields compress small and still vary
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    a = rng.uniform(0.5, 3, 6)
    r = 127 + 120 * np.sin(a[0] * 6 * x + a[1] * 4 * y)
    g = 127 + 120 * np.cos(a[2] * 5 * y - a[3] * 3 * x)
    b = 127 + 120 * np.sin(a[4] * 7 * x * y + a[5])
    return np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8)

def save(cls, name, img, **kw):
    p = root / cls / name
    p.parent.mkdir(parents=True, exist_ok=True)
    img.save(p, **kw)

for cls in ["cat", "ship", "truck"]:
    save(cls, "a_32.jpg", Image.fromarray(smooth(32, 32)), quality=90)
    save(cls, "b_32.jpg", Image.fromarray(smooth(32, 32)), quality=75)
    save(cls, "c_48x40.jpg", Image.fromarray(smooth(40, 48)), quality=85)
save("cat", "d_gray.jpg", Image.fromarray(smooth(32, 32)).convert("L"), quality=90)
save("cat", "e_cmyk.jpg", Image.fromarray(smooth(32, 32)).convert("CMYK"), quality=90)
save("ship", "f_progressive.jpg", Image.fromarray(smooth(32, 32)), quality=90, progressive=True)
exif = Image.Exif()
exif[0x0112] = 6  # rotated 90 degrees
save("ship", "g_exif_rotated.jpg", Image.fromarray(smooth(24, 40)), quality=90, exif=exif.tobytes())
rgba = Image.fromarray(smooth(32, 32)).convert("RGBA")
rgba.putalpha(Image.fromarray(smooth(32, 32)[..., 0]))
save("truck", "h_rgba.png", rgba)
save("truck", "i_palette.png", Image.fromarray(smooth(36, 36)).convert("P"))
save("truck", "j.bmp", Image.fromarray(smooth(32, 32)))
save("cat", "k.webp", Image.fromarray(smooth(32, 32)), quality=90)
save("ship", "l_420.jpg", Image.fromarray(smooth(32, 32)), quality=90, subsampling=2)
save("ship", "m_444.jpg", Image.fromarray(smooth(32, 32)), quality=90, subsampling=0)
print(sorted(str(p) for p in root.rglob("*")), sum(p.stat().st_size for p in root.rglob("*.*")))
