"""What a request may upload: the bytes of its files, kept to the most any file of the site may be."""

from django.core.files.uploadhandler import FileUploadHandler


class BoundedUpload(FileUploadHandler):
    """Passes on to the handlers after it (memory, then a temporary file) only the first bytes of a
    request's files, together one more than the largest file the site accepts (an exhibit,
    documents.EXHIBIT_MAX_BYTES, or a CSV file to import, imports.MAX_BYTES): a larger file arrives
    cut short, still too large, and is refused as such, but a request of any size never fills the
    disk with what no form would keep."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        from servicing.documents import EXHIBIT_MAX_BYTES  # one limit, where the exhibit's rules are
        from servicing.imports import MAX_BYTES

        keep = max(0, max(EXHIBIT_MAX_BYTES, MAX_BYTES) + 1 - self.received)
        self.received += len(raw_data)
        return raw_data[:keep]

    def file_complete(self, file_size):
        return None  # the next handler makes the file
