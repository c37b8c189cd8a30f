"""What a vendor measures of the audio it is sent: its duration, from the file's header."""

from __future__ import annotations


def audio_seconds(data: bytes) -> float | None:
    """The duration of a FLAC or WAV file; None when it is neither."""
    length = _length(data)
    return None if length is None else length[0] / length[1]


def audio_duration_ms(data: bytes) -> int | None:
    """The duration of a FLAC or WAV file in whole milliseconds; None when it is neither."""
    length = _length(data)
    return None if length is None else round(length[0] * 1000 / length[1])


def wav_data_bytes(data: bytes) -> int | None:
    """Bytes of samples in a WAV file's `data` chunk (0 without one); None when not WAV."""
    if not _is_wav(data):
        return None
    chunk = _wav_chunk(data, b"data")
    return 0 if chunk is None else chunk[1]


def _length(data: bytes) -> tuple[int, int] | None:
    """(units, units a second): samples of a FLAC file, bytes of a WAV file's samples."""
    if data[:4] == b"fLaC" and len(data) >= 42 and data[4] & 0x7F == 0:
        # STREAMINFO, the first metadata block: 20 bits of rate, then 36 of samples.
        streaminfo = int.from_bytes(data[8 + 10 : 8 + 18], "big")
        rate = streaminfo >> 44
        samples = streaminfo & ((1 << 36) - 1)
        return (samples, rate) if rate else None
    if _is_wav(data):
        fmt, frames = _wav_chunk(data, b"fmt "), _wav_chunk(data, b"data")
        if fmt is None or frames is None:
            return None
        byte_rate = int.from_bytes(data[fmt[0] + 8 : fmt[0] + 12], "little")
        return (frames[1], byte_rate) if byte_rate else None
    return None


def _is_wav(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def _wav_chunk(data: bytes, name: bytes) -> tuple[int, int] | None:
    """(offset of the body, length within `data`) of a WAV file's first chunk `name`."""
    position = 12
    while position + 8 <= len(data):
        chunk = data[position : position + 4]
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        if chunk == name:
            return position + 8, min(length, len(data) - position - 8)
        position += 8 + length + (length & 1)
    return None
