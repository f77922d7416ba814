"""Fine-tuning the extractive reader (`spanqa train-reader`) and promoting a trained reader
(`spanqa reader promote|show|rollback`). Imports `qa` and `index`; nothing there imports `train`."""
