import CProtobufC
import PersonalizerProto
import XCTest

/// `response` as protobuf-c packs it: the reference the hand-written encoders are checked against.
func protobufCPacked(_ response: inout Personalizer__V1__Response,
                     file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: personalizer__v1__response__get_packed_size(&response))
    XCTAssertEqual(personalizer__v1__response__pack(&response, &bytes), bytes.count, file: file, line: line)
    return bytes
}
