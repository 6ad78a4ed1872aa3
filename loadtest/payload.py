"""Build a TF Serving REST predict payload for a BERT classifier from the model's own vocab.

    python -m loadtest.payload --vocab models/chnsenticorp/<version>/assets/vocab.txt \\
        --text "这家酒店的服务很好，房间也很干净，下次还会再来。" --out loadtest/payloads/chnsenticorp.json

Tokenization is BERT's WordPiece (Hugging Face `tokenizers`), so the ids are exactly what the
model was trained on. The row format carries input_ids, input_mask and segment_ids padded to
--max-seq-length, plus label_ids (the google-research/bert run_classifier export asks for it;
pass --no-label-ids if your signature does not).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from tokenizers import BertWordPieceTokenizer


def build(vocab: Path, text: str, max_seq_length: int = 128, signature: str = "serving_default",
          label_ids: bool = True) -> dict:
    tokenizer = BertWordPieceTokenizer(str(vocab), lowercase=True)
    tokenizer.enable_truncation(max_seq_length)
    encoding = tokenizer.encode(text)
    ids = list(encoding.ids)
    pad = max_seq_length - len(ids)
    instance = {
        "input_ids": ids + [0] * pad,
        "input_mask": [1] * len(ids) + [0] * pad,
        "segment_ids": [0] * max_seq_length,
    }
    if label_ids:
        instance["label_ids"] = 0
    return {"signature_name": signature, "instances": [instance]}


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.payload", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--vocab", type=Path, required=True, help="the model's assets/vocab.txt")
    parser.add_argument("--text", required=True)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--signature", default="serving_default")
    parser.add_argument("--no-label-ids", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    payload = build(args.vocab, args.text, args.max_seq_length, args.signature, not args.no_label_ids)
    args.out.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({sum(payload['instances'][0]['input_mask'])} tokens)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
