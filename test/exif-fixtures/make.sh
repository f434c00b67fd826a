#!/bin/sh
# Makes the EXIF fixtures of test/date-taken.test.ts with real tools, from Debian 12's packages:
#   apt-get install libimage-exiftool-perl imagemagick libheif-examples webp
#   sh test/exif-fixtures/make.sh
# The tests read the committed files and never run this script. Each picture is a small plasma painted by
# ImageMagick; the dates are written by ExifTool (DateTimeOriginal, OffsetTimeOriginal), and carried into HEIC by
# libheif's heif-enc and into WebP by cwebp, as a user's converter would. What each file holds:
#   jpeg-offset.jpg      2026:07:14 18:30:05 +02:00 (big-endian TIFF, ExifTool's default)
#   jpeg-no-offset.jpg   2026:07:15 09:00:00, no offset (little-endian TIFF)
#   jpeg-no-exif.jpg     no EXIF at all
#   jpeg-modify-only.jpg only DateTime (the modification date): no date taken
#   heic-offset.heic     the EXIF of jpeg-offset.jpg (an Exif item of the HEIF meta box)
#   heic-no-exif.heic    no Exif item
#   png-exif.png         2026:07:16 07:45:00 -05:00 in an eXIf chunk before the image data (ExifTool's place)
#   png-no-exif.png      no eXIf chunk
#   webp-offset.webp     the EXIF of jpeg-offset.jpg in a RIFF EXIF chunk (after the image data, as WebP wants)
#   webp-no-exif.webp    no EXIF chunk
set -eu
cd "$(dirname "$0")"
CONVERT=/usr/bin/convert # ImageMagick itself (a machine may have a stand-in named convert earlier on PATH)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$CONVERT" -seed 7 -size 96x64 plasma:orange-purple "$tmp/base.jpg"
"$CONVERT" -seed 8 -size 96x64 plasma:green-blue "$tmp/base.png"

cp "$tmp/base.jpg" jpeg-offset.jpg
exiftool -q -overwrite_original -DateTimeOriginal='2026:07:14 18:30:05' -OffsetTimeOriginal='+02:00' jpeg-offset.jpg

cp "$tmp/base.jpg" jpeg-no-offset.jpg
exiftool -q -overwrite_original -ExifByteOrder=Little-endian -DateTimeOriginal='2026:07:15 09:00:00' jpeg-no-offset.jpg

cp "$tmp/base.jpg" jpeg-no-exif.jpg
exiftool -q -overwrite_original -all= jpeg-no-exif.jpg

cp "$tmp/base.jpg" jpeg-modify-only.jpg
exiftool -q -overwrite_original -ModifyDate='2026:07:20 12:00:00' jpeg-modify-only.jpg

heif-enc -q 50 jpeg-offset.jpg -o heic-offset.heic >/dev/null
heif-enc -q 50 jpeg-no-exif.jpg -o heic-no-exif.heic >/dev/null

cp "$tmp/base.png" png-exif.png
exiftool -q -overwrite_original -DateTimeOriginal='2026:07:16 07:45:00' -OffsetTimeOriginal='-05:00' png-exif.png
cp "$tmp/base.png" png-no-exif.png

cwebp -quiet -metadata exif jpeg-offset.jpg -o webp-offset.webp
cwebp -quiet -metadata none jpeg-no-exif.jpg -o webp-no-exif.webp

for file in *.jpg *.heic *.png *.webp; do
	printf '%-22s %6s bytes  %s\n' "$file" "$(wc -c <"$file")" "$(exiftool -s3 -d '%Y-%m-%d %H:%M:%S' -DateTimeOriginal -OffsetTimeOriginal "$file" | tr '\n' ' ')"
done
