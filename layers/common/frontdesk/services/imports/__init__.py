"""CSV patient imports: one job per S3 object, streamed in blocks, fanned out in byte-range chunks when large.

R-IMPORT-1 (rows), R-IMPORT-2 (idempotent), R-IMPORT-3 (report), R-IMPORT-4 / R-CREATE-4 (duplicates),
R-IMPORT-5 (streaming, formats), R-IMPORT-6 (malformed records). One module per concern:

- start.py       the S3 handler's start_import: the job, its header, its chunks (planned in domain/imports.py)
- engine.py      the chunk worker's process_chunk: blocks of rows, external-id claims, the writers at work
- duplicates.py  probable duplicates of a block's rows (the rule itself: domain/duplicates.py)
- waiting.py     a row updating a patient whose profile another writer is still storing
- report.py      finishing a job: exact totals from its chunks, the CSV report
- reads.py       the API's reads: a job, the jobs, the probable-duplicate pairs
"""
