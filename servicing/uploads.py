"""What a request may upload: the bytes of its files, kept to the most any file of the site may be."""

from django.core.files.uploadhandler import FileUploadHandler


class BoundedUpload(FileUploadHandler):
    """Passes on to the handlers after it (memory, then a temporary file) only the first bytes of a
    request's files, together one more than the largest exhibit (documents.EXHIBIT_MAX_BYTES): a
    larger file arrives cut short, still too large, and is refused by the exhibit's service as such,
    but a request of any size never fills the disk with what no form would keep. Exhibits are the
    only files the site accepts."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        from servicing.documents import EXHIBIT_MAX_BYTES  # one limit, where the exhibit's rules are

        keep = max(0, EXHIBIT_MAX_BYTES + 1 - self.received)
        self.received += len(raw_data)
        return raw_data[:keep]

    def file_complete(self, file_size):
        return None  # the next handler makes the file
