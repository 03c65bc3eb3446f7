"""Draw the PWA icons (run with the backend venv: .venv/bin/python frontend/tools/make_icons.py)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BLUE = (11, 83, 148, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "public" / "icons"


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # supersample, then downscale for smooth edges
    s = size * scale
    img = Image.new("RGBA", (s, s), BLUE if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if not maskable:
        d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 6, fill=BLUE)
    # Maskable icons keep their drawing inside the central 80 % safe zone.
    inset = s * (0.26 if maskable else 0.18)
    box = s - 2 * inset
    w = max(int(box * 0.13), 1)

    def p(x: float, y: float) -> tuple[float, float]:
        return (inset + x * box, inset + y * box)

    # A stylised "R" with an arrow: relay.
    d.line([p(0.2, 0.95), p(0.2, 0.05), p(0.55, 0.05)], fill=WHITE, width=w, joint="curve")
    d.arc((*p(0.3, 0.05), *p(0.8, 0.55)), start=270, end=90, fill=WHITE, width=w)
    d.line([p(0.55, 0.55), p(0.2, 0.55)], fill=WHITE, width=w)
    d.line([p(0.45, 0.55), p(0.85, 0.95)], fill=WHITE, width=w)
    d.polygon([p(0.95, 1.02), p(0.62, 0.98), p(0.92, 0.68)], fill=WHITE)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, maskable=False).save(OUT / "icon-192.png", optimize=True)
    draw(512, maskable=False).save(OUT / "icon-512.png", optimize=True)
    draw(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
