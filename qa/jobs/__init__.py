"""Background ingestion jobs: uploads unpacked to files (`unpack`), a job created in the store with them
(`submit`), and one background thread ingesting the store's unfinished jobs in batches (`runner`)."""
