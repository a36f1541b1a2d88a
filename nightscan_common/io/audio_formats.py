"""Which file extensions the bundled libsndfile decodes, and what to say about the others.

libsndfile recognises a file by its content, not its name; the extension only decides
which files a scan offers to it. The table covers every major format of
``soundfile.available_formats()`` (a test keeps it so), minus the few whose extension
mostly names something else.
"""

from __future__ import annotations

import posixpath

#: Extension (lower case) -> libsndfile's major format.
READABLE_EXTENSIONS: dict[str, str] = {
    ".wav": "WAV", ".wave": "WAV", ".bwf": "WAV", ".rf64": "RF64", ".w64": "W64",
    ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF", ".caf": "CAF", ".au": "AU", ".snd": "AU",
    ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3",
    ".avr": "AVR", ".htk": "HTK", ".iff": "SVX", ".svx": "SVX", ".paf": "PAF", ".pvf": "PVF",
    ".sd2": "SD2", ".sds": "SDS", ".sf": "IRCAM", ".voc": "VOC", ".nist": "NIST", ".sph": "NIST",
    ".wve": "WVE", ".xi": "XI",
}
#: libsndfile formats left out on purpose, and why.
NOT_BY_NAME: dict[str, str] = {
    "MAT4": ".mat files are mostly MATLAB data, not sound",
    "MAT5": ".mat files are mostly MATLAB data, not sound",
    "MPC2K": ".mpc files are mostly Musepack, which libsndfile does not decode",
    "RAW": "headerless: the rate and sample format cannot be known",
    "WAVEX": "read through .wav",
}
#: Common audio files that libsndfile cannot decode: extension -> what they hold.
NEEDS_CONVERTING: dict[str, str] = {
    ".m4a": "AAC or ALAC in MP4", ".mp4": "audio in MP4", ".aac": "AAC", ".webm": "Opus or Vorbis in WebM",
    ".mka": "audio in Matroska", ".wma": "Windows Media Audio", ".amr": "AMR speech",
    ".3gp": "audio in 3GP", ".ape": "Monkey's Audio", ".wv": "WavPack", ".ac3": "Dolby AC-3",
}


def extension(name: str) -> str:
    """``"site/A.WAV"`` -> ``".wav"``."""
    return posixpath.splitext(name)[1].lower()


def is_readable_name(name: str) -> bool:
    """Whether a file's extension, in any case, is one libsndfile decodes."""
    return extension(name) in READABLE_EXTENSIONS


def name_problem(name: str) -> str | None:
    """Why a scan passes over a file of this name, or ``None`` if libsndfile decodes it.

    Files that need converting say so and how; any other name is simply not audio.
    """
    ext = extension(name)
    if ext in READABLE_EXTENSIONS:
        return None
    if ext in NEEDS_CONVERTING:
        base = posixpath.basename(name)
        stem = posixpath.splitext(base)[0]
        return (f"{NEEDS_CONVERTING[ext]} ({ext}) is not decoded here; convert it first, "
                f"e.g. ffmpeg -i '{base}' '{stem}.flac'")
    return f"not an audio file name ({ext or 'no extension'}), ignored"


def ignored_reason(name: str) -> str | None:
    """``name_problem`` as the one line that ``-v`` prints: ``"<name>: <why>"``."""
    problem = name_problem(name)
    return None if problem is None else f"{name}: {problem}"
