from . import test_pos_backend
